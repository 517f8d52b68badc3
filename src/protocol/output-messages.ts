/**
 * The pieces shared by everything that turns kernel output messages into nbformat outputs (a cell's
 * outputs, the panel's bounded rank buffers): reading a message's content, the terminal semantics
 * of stream text, and dispatch by message type. Pure functions, type-only imports: loads in the
 * browser and in Node.
 */
import type {
  IDisplayData,
  IError,
  IExecuteResult,
  IMimeBundle,
  OutputMetadata,
  StreamType
} from '@jupyterlab/nbformat';

import type { OutputMsgType } from './api';

/** A deep copy of a JSON value, as plain JSON (drops `undefined` and functions). */
export function jsonCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** nbformat's multiline strings (a string or a list of strings) as one string. */
export function textOf(value: unknown): string {
  if (Array.isArray(value)) {
    return value.map(String).join('');
  }
  return typeof value === 'string' ? value : '';
}

/** The `transient.display_id` of a message content, if any. */
export function displayIdOf(content: Record<string, unknown>): string | null {
  const transient = content.transient;
  const id = isPlainObject(transient) ? transient.display_id : undefined;
  return typeof id === 'string' && id !== '' ? id : null;
}

export function mimeBundleOf(content: Record<string, unknown>): IMimeBundle {
  return isPlainObject(content.data) ? (jsonCopy(content.data) as IMimeBundle) : {};
}

export function metadataOf(content: Record<string, unknown>): OutputMetadata {
  return isPlainObject(content.metadata) ? (jsonCopy(content.metadata) as OutputMetadata) : {};
}

/**
 * Append a chunk to a stream's text the way a terminal and JupyterLab do: `\r` returns to the start
 * of the line (what follows replaces it), `\r\n` is a plain newline, `\b` deletes the previous
 * character of the line. `atLineStart` carries across chunks, so progress bars collapse to their
 * last state; `rewrote` says whether text that was there before changed (more than an append).
 */
export function appendStream(
  text: string,
  atLineStart: boolean,
  chunk: string
): { text: string; atLineStart: boolean; rewrote: boolean } {
  if (!atLineStart && !/[\r\b]/.test(chunk)) {
    return { text: text + chunk, atLineStart: false, rewrote: false };
  }
  const original = text.length;
  let shortest = original;
  for (const piece of chunk.split(/([\r\n\b])/)) {
    if (piece === '') {
      continue;
    }
    if (piece === '\r') {
      atLineStart = true;
    } else if (piece === '\n') {
      text += '\n';
      atLineStart = false;
    } else if (piece === '\b') {
      // At the start of a line there is nothing on the line to delete.
      if (!atLineStart && text.length > 0 && !text.endsWith('\n')) {
        text = text.slice(0, -1);
        shortest = Math.min(shortest, text.length);
      }
    } else {
      if (atLineStart) {
        text = text.slice(0, text.lastIndexOf('\n') + 1);
        shortest = Math.min(shortest, text.length);
        atLineStart = false;
      }
      text += piece;
    }
  }
  return { text, atLineStart, rewrote: shortest < original };
}

/** What a store of outputs does with each kind of output message. */
export interface OutputHandlers {
  stream(name: StreamType, chunk: string): void;
  /** A new display or result; `displayId` is set when later updates may target it. */
  display(output: IDisplayData | IExecuteResult, displayId: string | null): void;
  update(displayId: string, data: IMimeBundle, metadata: OutputMetadata): void;
  error(output: IError): void;
  /** `wait`: clear just before the next output arrives. */
  clear(wait: boolean): void;
}

/** Hand one kernel output message to the store's handler for its kind. */
export function routeOutput(
  handlers: OutputHandlers,
  msgType: OutputMsgType,
  content: Record<string, unknown>
): void {
  switch (msgType) {
    case 'stream':
      handlers.stream(
        (typeof content.name === 'string' ? content.name : 'stdout') as StreamType,
        textOf(content.text)
      );
      break;
    case 'display_data':
    case 'execute_result': {
      const data = mimeBundleOf(content);
      const metadata = metadataOf(content);
      const count = content.execution_count;
      handlers.display(
        msgType === 'execute_result'
          ? {
              output_type: 'execute_result',
              data,
              metadata,
              execution_count: typeof count === 'number' ? count : null
            }
          : { output_type: 'display_data', data, metadata },
        displayIdOf(content)
      );
      break;
    }
    case 'update_display_data': {
      const displayId = displayIdOf(content);
      if (displayId !== null) {
        handlers.update(displayId, mimeBundleOf(content), metadataOf(content));
      }
      break;
    }
    case 'error':
      handlers.error({
        output_type: 'error',
        ename: typeof content.ename === 'string' ? content.ename : '',
        evalue: typeof content.evalue === 'string' ? content.evalue : '',
        traceback: Array.isArray(content.traceback) ? content.traceback.map(String) : []
      });
      break;
    case 'clear_output':
      handlers.clear(content.wait === true);
      break;
    default:
      // Not an output message: nothing to store.
      break;
  }
}
