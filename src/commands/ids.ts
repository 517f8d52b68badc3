/**
 * The id of every command the DDP plugins add, by plugin, and of JupyterLab's commands they run
 * or watch. The settings schemas (schema/*.json) must spell the same ids; a unit test checks it.
 */

export const CellCommandIDs = {
  markLocal: 'ddp:mark-local',
  markDdp: 'ddp:mark-ddp',
  markEverywhere: 'ddp:mark-everywhere',
  clearMark: 'ddp:clear-mark',
  cycleMode: 'ddp:cycle-mode',
  runOnDdp: 'ddp:run-on-ddp',
  toggleAuto: 'ddp:toggle-auto',
  toggleAllRanks: 'ddp:toggle-all-ranks'
} as const;

export const GroupCommandIDs = {
  controls: 'ddp:group-controls',
  start: 'ddp:start-group',
  stop: 'ddp:stop-group',
  restart: 'ddp:restart-group',
  interrupt: 'ddp:interrupt-group'
} as const;

export const PanelCommandIDs = {
  openOutputPanel: 'ddp:open-output-panel'
} as const;

export const TransferCommandIDs = {
  push: 'ddp:push-variables',
  pull: 'ddp:pull-variables'
} as const;

/** JupyterLab's own notebook commands. */
export const NotebookCommandIDs = {
  runCell: 'notebook:run-cell',
  interruptKernel: 'notebook:interrupt-kernel'
} as const;
