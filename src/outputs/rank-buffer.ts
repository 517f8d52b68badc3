/**
 * One rank's outputs, bounded: the store that a DDP cell and the rank panel both read. Pure logic
 * (type-only imports), so it loads in Node and is unit-tested without a browser: a flood of output
 * keeps at most a fixed amount per rank.
 */
import type {
  IDisplayData,
  IExecuteResult,
  IOutput,
  IStream,
  StreamType
} from '@jupyterlab/nbformat';

import type { OutputMsgType } from '../protocol/api';
import { appendStream, OutputHandlers, routeOutput } from '../protocol/output-messages';

export interface BufferLimits {
  /** Stream characters kept per rank; beyond it, the oldest are dropped. */
  maxChars: number;
  /** Outputs kept per rank; beyond it, the oldest are dropped. */
  maxOutputs: number;
}

/** What a browser tab keeps of each rank of an execution. */
export const OUTPUT_LIMITS: BufferLimits = { maxChars: 1_000_000, maxOutputs: 500 };

/** No bound: `jupyter-ddp run` saves every output of a cell. */
export const UNBOUNDED: BufferLimits = { maxChars: Infinity, maxOutputs: Infinity };

/**
 * A trim goes this far below the limit, so that a flood trims (and views drop their oldest
 * outputs) once per fifth of the limit, not on every chunk.
 */
const TRIM_TO = 0.8;

/** A cut in stream text moves forward to the next line start when one is this close. */
const LINE_SLACK = 1000;

/** Where to cut `text` to drop its first `cut` characters: at the next line start, when close. */
export function cutAtLine(text: string, cut: number): number {
  if (cut <= 0) {
    return 0;
  }
  const newline = text.indexOf('\n', cut - 1);
  return newline !== -1 && newline + 1 < text.length && newline + 1 - cut <= LINE_SLACK
    ? newline + 1
    : cut;
}

/**
 * One rank's outputs as nbformat outputs, like an output area would hold them, but bounded: beyond
 * `maxChars` of stream text or `maxOutputs` outputs, the oldest are dropped and counted.
 *
 * Each output keeps its object while it lives, so views can tell what changed: `idOf` an output
 * is its number in this buffer; `version` changes with every change; `revOf` an output when it
 * changed other than by text added at its end (a display update, a `\r` rewriting the last line);
 * `baseOf` a stream output counts the characters cut from its start.
 */
export class RankBuffer {
  private _outputs: IOutput[] = [];
  /** A `\r` left the last stream's cursor at the start of its last line. */
  private _atLineStart = false;
  private _clearNext = false;
  private _displays = new Map<string, (IDisplayData | IExecuteResult)[]>();
  private _streamChars = 0;
  private _droppedChars = 0;
  private _droppedOutputs = 0;
  private _version = 0;
  private _revs = new WeakMap<IOutput, number>();
  private _bases = new WeakMap<IOutput, number>();
  private _ids = new WeakMap<IOutput, number>();
  private _nextId = 0;

  private readonly _handlers: OutputHandlers = {
    stream: (name, chunk) => this._addStream(name, chunk),
    display: (output, displayId) => {
      // After the push: a clear_output(wait=True) it ends forgets the display ids before it.
      this._push(output);
      if (displayId !== null) {
        this._displays.set(displayId, [...(this._displays.get(displayId) ?? []), output]);
      }
    },
    update: (displayId, data, metadata) => {
      const targets = this._displays.get(displayId) ?? [];
      for (const output of targets) {
        this._revs.set(output, this.revOf(output) + 1);
        output.data = data;
        output.metadata = metadata;
      }
      if (targets.length > 0) {
        this._changed();
      }
    },
    error: output => this._push(output),
    clear: wait => {
      if (wait) {
        this._clearNext = true;
      } else {
        this._clear();
      }
    }
  };

  constructor(private readonly _limits: BufferLimits = OUTPUT_LIMITS) {}

  /** The outputs kept (the buffer's own objects: read, never change them). */
  get outputs(): readonly IOutput[] {
    return this._outputs;
  }

  get version(): number {
    return this._version;
  }

  /** The output's number in this buffer, which it keeps while it lives. */
  idOf(output: IOutput): number {
    let id = this._ids.get(output);
    if (id === undefined) {
      id = this._nextId++;
      this._ids.set(output, id);
    }
    return id;
  }

  /** Bumped when an output changed other than by text appended at its end. */
  revOf(output: IOutput): number {
    return this._revs.get(output) ?? 0;
  }

  /** Characters cut from the start of a stream output (its text starts at that offset). */
  baseOf(output: IOutput): number {
    return this._bases.get(output) ?? 0;
  }

  /** Stream characters kept. */
  get streamChars(): number {
    return this._streamChars;
  }

  /** Stream characters dropped to stay within the limit (since the last clear_output). */
  get droppedChars(): number {
    return this._droppedChars;
  }

  /** Other outputs (displays, errors) dropped to stay within the limits. */
  get droppedOutputs(): number {
    return this._droppedOutputs;
  }

  /** Apply one kernel output message of this rank. */
  add(msgType: OutputMsgType, content: Record<string, unknown>): void {
    routeOutput(this._handlers, msgType, content);
  }

  /** A change; `rewritten` changed other than by appending. */
  private _changed(rewritten?: IOutput): void {
    this._version++;
    if (rewritten) {
      this._revs.set(rewritten, this.revOf(rewritten) + 1);
    }
  }

  private _clear(): void {
    this._outputs = [];
    this._displays.clear();
    this._atLineStart = false;
    this._clearNext = false;
    this._streamChars = 0;
    this._droppedChars = 0;
    this._droppedOutputs = 0;
    this._changed();
  }

  private _beforeAdd(): void {
    if (this._clearNext) {
      this._clear();
    }
  }

  private _push(output: IOutput): void {
    this._beforeAdd();
    this._outputs.push(output);
    this._atLineStart = false;
    this._changed();
    this._trim();
  }

  private _addStream(name: StreamType, chunk: string): void {
    this._beforeAdd();
    const last = this._outputs[this._outputs.length - 1] as IStream | undefined;
    if (last && last.output_type === 'stream' && last.name === name) {
      const before = last.text as string;
      const next = appendStream(before, this._atLineStart, chunk);
      last.text = next.text;
      this._atLineStart = next.atLineStart;
      this._streamChars += next.text.length - before.length;
      this._changed(next.rewrote ? last : undefined);
    } else {
      const next = appendStream('', false, chunk);
      this._outputs.push({ output_type: 'stream', name, text: next.text } satisfies IStream);
      this._atLineStart = next.atLineStart;
      this._streamChars += next.text.length;
      this._changed();
    }
    this._trim();
  }

  /** Drop the oldest outputs and text until within the limits (well within: see TRIM_TO). */
  private _trim(): void {
    const { maxChars, maxOutputs } = this._limits;
    if (this._streamChars <= maxChars && this._outputs.length <= maxOutputs) {
      return;
    }
    let excessChars =
      this._streamChars > maxChars ? this._streamChars - Math.floor(maxChars * TRIM_TO) : 0;
    let excessOutputs =
      this._outputs.length > maxOutputs
        ? this._outputs.length - Math.max(1, Math.floor(maxOutputs * TRIM_TO))
        : 0;
    let drop = 0;
    while (drop < this._outputs.length && (excessChars > 0 || excessOutputs > 0)) {
      const output = this._outputs[drop];
      if (output.output_type === 'stream') {
        const text = output.text as string;
        if (excessOutputs <= 0 && text.length > excessChars) {
          // Cut this one from the front, at a line start when one is near.
          const cut = cutAtLine(text, excessChars);
          output.text = text.slice(cut);
          this._bases.set(output, this.baseOf(output) + cut);
          this._streamChars -= cut;
          this._droppedChars += cut;
          break;
        }
        this._streamChars -= text.length;
        this._droppedChars += text.length;
        excessChars -= text.length;
      } else {
        this._droppedOutputs++;
      }
      excessOutputs--;
      drop++;
    }
    if (drop > 0) {
      this._outputs.splice(0, drop);
      if (this._outputs.length === 0) {
        this._atLineStart = false;
      }
      const kept = new Set(this._outputs);
      for (const [id, outputs] of this._displays) {
        const still = outputs.filter(o => kept.has(o));
        if (still.length > 0) {
          this._displays.set(id, still);
        } else {
          this._displays.delete(id);
        }
      }
    }
  }
}
