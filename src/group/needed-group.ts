/**
 * The group a notebook will start once its cells run, read when it is opened, before any runs:
 * what warming the ranks' spare kernels asks for. Each cell is read as running it reads it
 * (planCell: its Ddip magics, its `ddp` mark, the notebook's Auto-DDP). Pure logic.
 */
import { readNotebookDdp } from '../protocol/cell-metadata';
import { planCell } from '../protocol/cell-plan';
import { groupShape, GroupShape } from '../protocol/directives';
import { Directive, isMagicError } from '../protocol/magics';

/** What of a notebook cell is read: its type, source and metadata (`{ ddp: … }` is enough). */
export interface CellSource {
  type: string;
  source: string;
  metadata: unknown;
}

type Makedip = Extract<Directive, { kind: 'makedip' }>;

/**
 * The shape of the group the notebook's first cell that needs the ranks starts: its `%makedip`
 * line's (`-c N`, `-g`), else the settings' own (`{}`); `{}` too for a notebook with Auto-DDP on.
 * Null when no cell runs on the ranks: nothing is to be warmed. A cell whose magics or metadata
 * are wrong is refused when it runs, so it starts nothing and is passed over.
 */
export function neededGroup(
  notebookMetadata: unknown,
  cells: Iterable<CellSource>
): GroupShape | null {
  for (const cell of cells) {
    if (cell.type !== 'code') {
      continue;
    }
    const plan = planCell(cell.source, cell.metadata, notebookMetadata, 'rank0');
    if (isMagicError(plan)) {
      continue;
    }
    // Directives run before the cell's code: a `%makedip` line starts the group in its shape.
    const start = plan.directives.find(
      (d): d is Makedip => d.kind === 'makedip' && (d.action === 'start' || d.action === 'restart')
    );
    if (start) {
      return groupShape(start) ?? {};
    }
    if (plan.mode !== 'local' || plan.usesClient) {
      return {};
    }
  }
  return readNotebookDdp(notebookMetadata).value.auto ? {} : null;
}
