import type { IOutput, IStream } from '@jupyterlab/nbformat';

import { OutputEvent } from '../protocol/api';
import { labelWithRank, OutputAccumulator, RankView } from '../protocol/outputs';

/**
 * One DDP cell's outputs, accumulated per rank as events arrive (so each rank's progress bars and
 * clear_output stay its own) and composed into the cell's outputs on demand.
 */
export class RankOutputs {
  private readonly ranks = new Map<number, OutputAccumulator>();
  /** Events that arrived ahead of a gap, applied once the gap is filled. */
  private readonly pending = new Map<number, OutputEvent>();
  private next = 0;

  /** The first sequence number not applied yet: fetching from there misses nothing. */
  get firstMissing(): number {
    return this.next;
  }

  /** Whether an output below `nextSeq` (an execution summary's) has not been applied yet. */
  missesBefore(nextSeq: number): boolean {
    return this.next < nextSeq;
  }

  /**
   * Add an event; outputs are applied strictly in sequence, each rank's in its own order. Status
   * events are not outputs: they carry the next output's seq, and would take its place.
   */
  add(event: OutputEvent): void {
    if (event.msgType === 'status' || event.seq < this.next) {
      return; // not an output, or a repeat fetched to fill a gap
    }
    this.pending.set(event.seq, event);
    this.drain();
  }

  /** The server dropped events before `seq` from its bounded buffer: go on without them. */
  skipTo(seq: number): void {
    if (seq > this.next) {
      this.next = seq;
      this.drain();
    }
  }

  private drain(): void {
    for (let event = this.pending.get(this.next); event; event = this.pending.get(this.next)) {
      this.pending.delete(this.next);
      this.next++;
      let accumulator = this.ranks.get(event.rank);
      if (!accumulator) {
        accumulator = new OutputAccumulator();
        this.ranks.set(event.rank, accumulator);
      }
      accumulator.add(event.msgType, event.content);
    }
  }

  /**
   * The cell's outputs: the main rank's (rank 0, or the lowest that ran), or those of the ranks in
   * view, labelled; every other rank's errors always, labelled. Stream text beyond `maxChars` is
   * cut from the front, with `cutNote` saying so.
   */
  compose(view: RankView, maxChars: number, cutNote: string): IOutput[] {
    const ranks = [...this.ranks.keys()].sort((a, b) => a - b);
    if (ranks.length === 0) {
      return [];
    }
    const shown =
      view === 'rank0'
        ? [ranks.includes(0) ? 0 : ranks[0]]
        : view === 'all'
          ? ranks
          : ranks.filter(r => view.includes(r));
    const label = view !== 'rank0';
    const outputs: IOutput[] = [];
    for (const rank of shown) {
      const own = this.ranks.get(rank)!.outputs();
      outputs.push(...(label ? own.map(o => labelWithRank(o, rank)) : own));
    }
    for (const rank of ranks.filter(r => !shown.includes(r))) {
      const errors = this.ranks
        .get(rank)!
        .outputs()
        .filter(o => o.output_type === 'error');
      outputs.push(...errors.map(o => labelWithRank(o, rank)));
    }
    return capStreams(outputs, maxChars, cutNote);
  }
}

/** Keep the last `maxChars` of stream text, so a flood never reaches the page whole. */
export function capStreams(outputs: IOutput[], maxChars: number, note: string): IOutput[] {
  let budget = maxChars;
  let cut = false;
  const kept: IOutput[] = [];
  for (const output of [...outputs].reverse()) {
    if (output.output_type !== 'stream') {
      kept.push(output);
      continue;
    }
    const text = String((output as IStream).text);
    if (budget <= 0) {
      cut = true;
      continue;
    }
    if (text.length > budget) {
      kept.push({ ...output, text: text.slice(text.length - budget) } as IStream);
      cut = true;
      budget = 0;
    } else {
      kept.push(output);
      budget -= text.length;
    }
  }
  kept.reverse();
  if (cut) {
    kept.unshift({
      output_type: 'stream',
      name: 'stderr',
      text: `${note}\n`
    });
  }
  return kept;
}
