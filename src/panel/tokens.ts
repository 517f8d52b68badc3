import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/** Which DDP execution last ran each cell of this tab, so views can find a cell's rank outputs. */
export interface IDdpExecutions {
  /** The id of the last DDP execution of a cell (by cell model id), if this tab ran it. */
  get(cellId: string): string | undefined;
  /** The cell (and notebook path, when known) an execution ran for, if this tab ran it. */
  sourceOf(executionId: string): ExecutionSource | undefined;
  /** Record that a cell's DDP run started as `executionId`. */
  set(cellId: string, executionId: string, path?: string): void;
  /** A cell's last execution changed. */
  readonly changed: ISignal<IDdpExecutions, ExecutionSource & { executionId: string }>;
}

/** The cell an execution ran for. */
export interface ExecutionSource {
  cellId: string;
  /** The notebook's path, when known. */
  path?: string;
}

export const IDdpExecutions = new Token<IDdpExecutions>(
  'jupyterlab-ddp:IDdpExecutions',
  'The last DDP execution of each cell run in this tab.'
);
