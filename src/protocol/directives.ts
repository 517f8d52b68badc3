/**
 * What Ddip's `%autodip` and `%makedip` lines do, the same in the JupyterLab UI and in
 * `jupyter-ddp run`: each side lends its group and its notebook's metadata through
 * {@link DirectiveHost} (the UI the REST API and the notebook model, the runner its own group and
 * notebook), and prints the lines given back. Pure logic: loads in both the browser and Node.
 */
import { GroupInfo, isRunning, StartGroupRequest } from './api';
import { withAutodip } from './cell-metadata';
import { groupLine } from './group-text';
import type { Directive } from './magics';
import type { Texts } from './texts';

type Autodip = Extract<Directive, { kind: 'autodip' }>;
type Makedip = Extract<Directive, { kind: 'makedip' }>;

/** The part of a start request `%makedip -g/-c` sets, over the side's own defaults. */
export type GroupShape = Pick<StartGroupRequest, 'ranks' | 'cpuRanks' | 'gpus'>;

/** The group and the notebook's metadata, as one side has them. */
export interface DirectiveHost {
  /** The group as it is now (stopped when there is none yet). */
  group(): Promise<GroupInfo>;
  /** Start a stopped group with the side's defaults, `shape` over them; resolves once ready. */
  start(shape: GroupShape): Promise<GroupInfo>;
  /** Restart the running group as it last started. */
  restart(): Promise<GroupInfo>;
  stop(): Promise<GroupInfo>;
  /** The notebook's metadata `ddp` now. */
  notebookDdp(): unknown;
  /** Replace the notebook's metadata `ddp` (undefined: remove it). */
  setNotebookDdp(ddp: Record<string, unknown> | undefined): void;
}

/** The notebook's `ddp` metadata once this `%autodip` line has run. */
export function notebookDdpAfter(
  notebookDdp: unknown,
  directive: Autodip
): Record<string, unknown> | undefined {
  const { quiet, see } = directive.options;
  return withAutodip(notebookDdp, directive.on, quiet ? [] : see);
}

/**
 * The shape `%makedip` asks for, null when it names none. `-c N`: N CPU ranks (the server's
 * `cpuRanks`, which counts where there is no GPU), and nothing else sets the count: not the
 * side's GPUs, nor `jupyter-ddp run --ranks`. `-g`: those GPUs.
 */
export function groupShape(directive: Makedip): GroupShape | null {
  if (directive.cpus !== null) {
    return { cpuRanks: directive.cpus, ranks: undefined, gpus: undefined };
  }
  return directive.gpus !== null ? { gpus: directive.gpus } : null;
}

/**
 * `%makedip`: `-i` shows the group; `-k` stops it; `-r` restarts a running one (with `-g`/`-c`,
 * stopped and started in that shape); otherwise a running group is kept, as Ddip keeps it. Any
 * other start begins by stopping a failed group. Gives the group as it then is.
 */
export async function makedip(directive: Makedip, host: DirectiveHost): Promise<GroupInfo> {
  const current = await host.group();
  const running = isRunning(current.state);
  const shape = groupShape(directive);
  switch (directive.action) {
    case 'info':
      return current;
    case 'kill':
      return host.stop();
    case 'restart':
      if (running && shape === null) {
        return host.restart();
      }
      break;
    case 'start':
      if (running) {
        return current;
      }
      break;
  }
  if (running || current.state === 'failed') {
    await host.stop();
  }
  return host.start(shape ?? {});
}

/**
 * Perform a cell's `%autodip` and `%makedip` lines in order, before its code; gives what to print
 * in the cell. Throws what the group said when it cannot do what was asked.
 */
export async function performDirectives(
  directives: Directive[],
  host: DirectiveHost,
  trans: Texts
): Promise<string[]> {
  const said: string[] = [];
  for (const directive of directives) {
    if (directive.kind === 'autodip') {
      host.setNotebookDdp(notebookDdpAfter(host.notebookDdp(), directive));
      said.push(
        directive.on
          ? trans.__('Auto-DDP is on: unmarked cells run on the ranks.')
          : trans.__('Auto-DDP is off: unmarked cells run in the notebook kernel.')
      );
    } else {
      said.push(groupLine(await makedip(directive, host), trans));
    }
  }
  return said;
}
