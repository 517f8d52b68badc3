import { Token } from '@lumino/coreutils';

import type { StartGroupRequest } from '../protocol/api';

/** Starting the DDP group the way the user configured it. */
export interface IDdpGroupManager {
  /** True once the group is ready; starts it (asking first, unless configured not to) if needed. */
  ensureRunning(kernelName: string | undefined): Promise<boolean>;
  /** A start request from the settings' defaults (and the last notebook's kernel), overridden. */
  startRequest(overrides?: StartGroupRequest): StartGroupRequest;
  /** Restart the group (what is wrong, if it cannot, in a dialog); true once it is ready. */
  restart(): Promise<boolean>;
}

export const IDdpGroupManager = new Token<IDdpGroupManager>(
  'jupyterlab-ddp:IDdpGroupManager',
  'Starts and controls the DDP group.'
);
