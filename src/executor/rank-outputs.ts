import type { IOutput, IStream } from '@jupyterlab/nbformat';
import type { IOutputAreaModel } from '@jupyterlab/outputarea';

import type { ExecutionOutputs } from '../outputs/execution-outputs';
import { textOf } from '../protocol/output-messages';
import { ComposedOutput, composeCell, RankView } from '../protocol/outputs';

/** What a DDP cell says above its ranks' outputs when some are not there. */
export interface CellNotes {
  /** Earlier output was cut to keep the page responsive. */
  cut: string;
  /** `count` earlier outputs never reached the tab (the server no longer had them). */
  missed(count: number): string;
}

export interface CellWrite {
  /** The ranks the execution ran on. */
  ranks: readonly number[];
  /** Stream characters the cell shows at most. */
  maxChars: number;
  /** Outputs below the ranks' (why the group failed). */
  after: IOutput[];
}

/**
 * Writes a DDP cell's outputs into its model (which the notebook saves) from its execution's
 * store: the outputs kept above the ranks' (an everywhere cell's local ones), a note on what is
 * missing, the composed ranks' outputs, then `after`. Only the outputs that changed are written
 * (a growing stream, an updated display); new ones are added, and anything else rewrites the
 * model. Consecutive streams of one name are written as one, as the output area model would
 * merge them.
 */
export class CellOutputs {
  /** What the model shows, as this writer left it; null before the first write. */
  private _written: { key: string; sig: string }[] | null = null;

  constructor(
    private readonly _model: IOutputAreaModel,
    private readonly _before: IOutput[],
    private readonly _view: RankView,
    private readonly _notes: CellNotes
  ) {}

  write(store: ExecutionOutputs, { ranks, maxChars, after }: CellWrite): void {
    const items: ComposedOutput[] = [
      ...this._before.map((output, i) => fixed(`b${i}`, output)),
      ...(store.missed > 0
        ? [fixed('missed', note(this._notes.missed(store.missed)), String(store.missed))]
        : []),
      ...composeCell(store, this._view, { ranks, maxChars, cutNote: this._notes.cut }),
      ...after.map((output, i) => fixed(`a${i}`, output))
    ];
    const wanted = mergeStreams(items);
    const model = this._model;
    const written = this._written;
    if (
      written !== null &&
      model.length === written.length &&
      written.length <= wanted.length &&
      written.every((w, i) => w.key === wanted[i].key)
    ) {
      wanted.forEach((item, i) => {
        if (i >= written.length) {
          model.add(item.output());
        } else if (item.sig !== written[i].sig) {
          model.set(i, item.output());
        }
      });
    } else {
      model.fromJSON(wanted.map(item => item.output()));
    }
    this._written = wanted.map(({ key, sig }) => ({ key, sig }));
  }
}

function note(text: string): IStream {
  return { output_type: 'stream', name: 'stderr', text: `${text}\n` };
}

function fixed(key: string, output: IOutput, sig = ''): ComposedOutput {
  return {
    key,
    sig,
    streamName: output.output_type === 'stream' ? (output as IStream).name : null,
    output: () => output
  };
}

/**
 * Consecutive streams of one name as one output, keyed by its first: the output area model merges
 * them when they are added, so the writer must count them as one.
 */
function mergeStreams(items: ComposedOutput[]): ComposedOutput[] {
  const merged: ComposedOutput[] = [];
  let run: ComposedOutput[] = [];
  const flush = () => {
    if (run.length === 1) {
      merged.push(run[0]);
    } else if (run.length > 1) {
      const parts = run;
      merged.push({
        key: parts[0].key,
        sig: parts.map(p => `${p.key}:${p.sig}`).join('|'),
        streamName: parts[0].streamName,
        output: () => ({
          output_type: 'stream',
          name: parts[0].streamName!,
          text: parts.map(p => textOf((p.output() as IStream).text)).join('')
        })
      });
    }
    run = [];
  };
  for (const item of items) {
    if (item.streamName === null || item.streamName !== run[0]?.streamName) {
      flush();
    }
    if (item.streamName === null) {
      merged.push(item);
    } else {
      run.push(item);
    }
  }
  flush();
  return merged;
}
