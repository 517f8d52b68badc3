import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { ApiRequestError } from '../client/api';
import { IDdpClient } from '../client/tokens';
import { DeviceKind, GroupSummary, isRunning, StartGroupRequest } from '../protocol/api';
import { GroupShape } from '../protocol/directives';
import { GpuList } from '../protocol/gpu-list';
import { GroupControls, GroupDefaults, parseGpus } from './controls';
import { describeStart } from './describe';
import { IDdpGroupManager } from './tokens';

/** The `jupyterlab-ddp:group` settings (schema/group.json). */
export interface GroupSettings extends GroupDefaults {
  collectiveTimeoutSeconds: number;
  startWithoutAsking: boolean;
  warmStart: boolean;
}

export const DEFAULT_GROUP_SETTINGS: GroupSettings = {
  gpus: 'all',
  cpuRanks: 2,
  collectiveTimeoutSeconds: 1800,
  startWithoutAsking: false,
  warmStart: true
};

/**
 * Starts, stops, restarts and interrupts the tab's DDP group the way the user configured it, and
 * offers to start one when a DDP cell needs it. What goes wrong is shown in a dialog; every action
 * resolves true once done.
 */
export class DdpGroupManager implements IDdpGroupManager {
  /** The user's settings; the plugin keeps them up to date. */
  settings: GroupSettings = { ...DEFAULT_GROUP_SETTINGS };

  // What this machine's groups run on, once one has been seen: the start dialog can then be exact.
  private _device: DeviceKind | null = null;
  /** The kernel of the last notebook that needed the group: the ranks start from it. */
  private _lastKernel: string | undefined;
  /** A start, stop, restart or interrupt this tab asked for and the server has not answered. */
  private _acting: Promise<unknown> | null = null;

  constructor(
    private readonly _client: IDdpClient,
    private readonly _trans: TranslationBundle
  ) {
    _client.connection.groupChanged.connect((_, group) => {
      this._device = group?.device ?? this._device;
    });
  }

  /** The group as the socket last said (null: no jupyter-ddp server). */
  get group(): GroupSummary | null {
    return this._client.connection.group;
  }

  /** Whether the group's ranks are up (ready or busy). */
  get isRunning(): boolean {
    return this.group !== null && isRunning(this.group.state);
  }

  /** Whether a start can be asked for now: there is a server and no group is up or starting. */
  get canStart(): boolean {
    return this.group !== null && !this.isRunning && this.group.state !== 'starting';
  }

  /** Whether there is a group to stop or restart. */
  get canStop(): boolean {
    return this.group !== null && this.group.state !== 'stopped';
  }

  /** Throws, naming the setting, when the `gpus` setting is not a GPU list and is used. */
  startRequest(overrides: StartGroupRequest = {}): StartGroupRequest {
    return {
      gpus: overrides.gpus === undefined ? this._settingsGpus() : overrides.gpus,
      cpuRanks: this.settings.cpuRanks,
      timeoutSeconds: this.settings.collectiveTimeoutSeconds,
      kernelName: this._lastKernel,
      ...overrides
    };
  }

  /**
   * Unless the `warmStart` setting is off or a group runs or starts, have the server start the
   * spare kernels that a start from the settings (in `shape`, from `kernelName`) would take, so
   * that the first DDP cell starts about as fast as a restart. Starts no group: the start still
   * asks first. Decided once the socket has said how the group is (so never without a jupyter-ddp
   * server). Best effort: resolves whether the server took it; a refusal is only logged.
   */
  async warm(kernelName: string | undefined, shape: GroupShape): Promise<boolean> {
    if (!this.settings.warmStart) {
      return false;
    }
    const { state } = await this._knownGroup();
    if (state === 'starting' || isRunning(state)) {
      return false;
    }
    let request: StartGroupRequest;
    try {
      request = this.startRequest({ kernelName, ...shape });
    } catch {
      return false; // a bad GPUs setting: the start itself will say so
    }
    try {
      await this._client.api.warm(request);
      return true;
    } catch (err) {
      // 409: a group started meanwhile (another tab) and keeps spares of its own
      if (!(err instanceof ApiRequestError && err.status === 409)) {
        console.warn(`jupyter-ddp: could not warm the DDP ranks: ${(err as Error).message}`);
      }
      return false;
    }
  }

  /** Start a group from the settings, `overrides` (the dialog's fields) over them. */
  start(overrides?: StartGroupRequest): Promise<boolean> {
    return this._act(this._trans.__('Could not start the DDP group'), () =>
      this._client.api.start(this.startRequest(overrides))
    );
  }

  stop(): Promise<boolean> {
    return this._act(this._trans.__('Could not stop the DDP group'), () => this._client.api.stop());
  }

  restart(): Promise<boolean> {
    return this._act(this._trans.__('Could not restart the DDP group'), () =>
      this._client.api.restart()
    );
  }

  interrupt(): Promise<boolean> {
    return this._act(this._trans.__('Could not interrupt the ranks'), () =>
      this._client.api.interrupt()
    );
  }

  /** The group controls dialog: the group's state and notices, and start, or stop and restart. */
  async showControls(): Promise<boolean> {
    const trans = this._trans;
    const { api } = this._client;
    const info = this.group ? await api.group().catch(() => null) : null;
    const body = new GroupControls(this.group, info?.notices ?? [], this.settings, trans);
    const hasRanks = this.isRunning || this.group?.state === 'failed';
    const buttons = [
      Dialog.cancelButton({ label: trans.__('Close') }),
      ...(hasRanks
        ? [
            Dialog.warnButton({ label: trans.__('Stop'), ariaLabel: 'stop' }),
            Dialog.okButton({ label: trans.__('Restart'), ariaLabel: 'restart' })
          ]
        : [Dialog.okButton({ label: trans.__('Start'), ariaLabel: 'start' })])
    ];
    const result = await showDialog({ title: trans.__('DDP Group'), body, buttons });
    switch (result.button.ariaLabel) {
      case 'start':
        return this._act(trans.__('Could not start the DDP group'), () =>
          api.start(this.startRequest(body.request()))
        );
      case 'stop':
        return this.stop();
      case 'restart':
        return this.restart();
      default:
        return false;
    }
  }

  async ensureRunning(kernelName: string | undefined): Promise<boolean> {
    const trans = this._trans;
    const { api } = this._client;
    this._lastKernel = kernelName ?? this._lastKernel;
    await this._acting?.catch(() => undefined);
    const group = this.group;
    if (this.isRunning) {
      return true;
    }
    if (group?.state === 'starting') {
      return this._untilReady();
    }
    if (group === null) {
      await showErrorMessage(
        trans.__('No DDP server'),
        trans.__('DDP cells need the jupyter-ddp server: start JupyterLab with `jupyter-ddp lab`.')
      );
      return false;
    }
    let request: StartGroupRequest;
    try {
      request = this.startRequest();
    } catch (err) {
      await showErrorMessage(trans.__('Could not start the DDP group'), (err as Error).message);
      return false;
    }
    if (!this.settings.startWithoutAsking) {
      const what = describeStart(request, this._device, trans);
      const answer = await showDialog({
        title: trans.__('Start the DDP group?'),
        body:
          group.state === 'failed'
            ? trans.__(
                'This cell runs on the DDP ranks, and the last group failed: %1. Start %2?',
                group.error ?? '',
                what
              )
            : trans.__('This cell runs on the DDP ranks, and no group is running. Start %1?', what),
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Start') })]
      });
      if (!answer.button.accept) {
        return false;
      }
    }
    if (this.group?.state === 'failed') {
      await api.stop().catch(() => undefined);
    }
    try {
      await api.start(request);
      return true;
    } catch (err) {
      // Someone else (a restart, another tab) is starting it right now: wait for that one.
      if (err instanceof ApiRequestError && err.status === 409) {
        return this._untilReady();
      }
      await showErrorMessage(trans.__('Could not start the DDP group'), (err as Error).message);
      return false;
    }
  }

  private _settingsGpus(): GpuList {
    try {
      return parseGpus(this.settings.gpus);
    } catch (err) {
      throw new Error(
        this._trans.__('The GPUs setting of the DDP group: %1', (err as Error).message)
      );
    }
  }

  /** The group once the socket has said how it is (a page just loaded has not heard yet). */
  private _knownGroup(): Promise<GroupSummary> {
    const { connection } = this._client;
    return new Promise<GroupSummary>(resolve => {
      const check = () => {
        if (connection.group) {
          connection.groupChanged.disconnect(check);
          resolve(connection.group);
        }
      };
      connection.groupChanged.connect(check);
      check();
    });
  }

  /** Resolves true once the group is ready, false if it fails or stops on the way. */
  private _untilReady(): Promise<boolean> {
    const { connection } = this._client;
    return new Promise<boolean>(resolve => {
      const check = () => {
        const state = connection.group?.state;
        if (state === 'starting') {
          return;
        }
        connection.groupChanged.disconnect(check);
        resolve(state !== undefined && isRunning(state));
      };
      connection.groupChanged.connect(check);
      check();
    });
  }

  /**
   * Run `action`; what went wrong is shown under `what`. While it runs, a cell that needs the
   * group waits for it (the socket may still tell the state from before it).
   */
  private async _act(what: string, action: () => Promise<unknown>): Promise<boolean> {
    // A request that cannot be made (a bad GPU list) throws at once: shown as a refusal too.
    const acting = Promise.resolve().then(action);
    this._acting = acting;
    try {
      await acting;
      return true;
    } catch (err) {
      await showErrorMessage(what, (err as Error).message);
      return false;
    } finally {
      if (this._acting === acting) {
        this._acting = null;
      }
    }
  }
}
