import { Token } from '@lumino/coreutils';

import type { StartGroupRequest } from '../protocol/api';
import type { GroupShape } from '../protocol/directives';

/** Starting the DDP group the way the user configured it. */
export interface IDdpGroupManager {
  /** True once the group is ready; starts it (asking first, unless configured not to) if needed. */
  ensureRunning(kernelName: string | undefined): Promise<boolean>;
  /** A start request from the settings' defaults (and the last notebook's kernel), overridden. */
  startRequest(overrides?: StartGroupRequest): StartGroupRequest;
  /**
   * Warm the spares a start from `kernelName` in `shape` would take, unless the setting is off or
   * a group runs or starts; resolves whether the server took it. Starts no group.
   */
  warm(kernelName: string | undefined, shape: GroupShape): Promise<boolean>;
  /** Restart the group (what is wrong, if it cannot, in a dialog); true once it is ready. */
  restart(): Promise<boolean>;
}

export const IDdpGroupManager = new Token<IDdpGroupManager>(
  'jupyterlab-ddp:IDdpGroupManager',
  'Starts and controls the DDP group.'
);
