import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { ApiRequestError } from '../client/api';
import { IDdpClient } from '../client/tokens';
import { DeviceKind, StartGroupRequest } from '../protocol/api';
import { GroupControls, GroupDefaults, parseGpus } from './controls';
import { describeStart } from './describe';
import { IDdpGroupManager } from './tokens';

const PLUGIN_ID = 'jupyterlab-ddp:group';

export const CommandIDs = {
  controls: 'ddp:group-controls',
  start: 'ddp:start-group',
  stop: 'ddp:stop-group',
  restart: 'ddp:restart-group',
  interrupt: 'ddp:interrupt-group'
} as const;

interface Settings extends GroupDefaults {
  collectiveTimeoutSeconds: number;
  startWithoutAsking: boolean;
}

const DEFAULTS: Settings = {
  gpus: 'all',
  cpuRanks: 2,
  collectiveTimeoutSeconds: 1800,
  startWithoutAsking: false
};

/** Group lifecycle commands, the controls dialog, and starting a group on demand. */
export const groupPlugin: JupyterFrontEndPlugin<IDdpGroupManager> = {
  id: PLUGIN_ID,
  description: 'Starts, stops, restarts and interrupts the DDP group.',
  autoStart: true,
  requires: [IDdpClient],
  optional: [ISettingRegistry, ITranslator, ICommandPalette],
  provides: IDdpGroupManager,
  activate: async (
    app: JupyterFrontEnd,
    client: IDdpClient,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_ddp');
    let settings: Settings = { ...DEFAULTS };
    let lastKernel: string | undefined;
    if (settingRegistry) {
      const loaded = await settingRegistry.load(PLUGIN_ID);
      const read = () => (settings = { ...DEFAULTS, ...(loaded.composite as Partial<Settings>) });
      loaded.changed.connect(read);
      read();
    }
    const { api, connection } = client;
    const running = () => ['ready', 'busy'].includes(connection.group?.state ?? '');
    // What this machine's groups run on, once one has been seen: the start dialog can then be exact.
    let device: DeviceKind | null = null;
    connection.groupChanged.connect((_, group) => (device = group?.device ?? device));

    const startRequest = (overrides: StartGroupRequest = {}): StartGroupRequest => ({
      gpus: parseGpus(settings.gpus),
      cpuRanks: settings.cpuRanks,
      timeoutSeconds: settings.collectiveTimeoutSeconds,
      kernelName: lastKernel,
      ...overrides
    });

    const act = async (what: string, action: () => Promise<unknown>): Promise<boolean> => {
      try {
        await action();
        return true;
      } catch (err) {
        await showErrorMessage(what, (err as Error).message);
        return false;
      }
    };

    app.commands.addCommand(CommandIDs.start, {
      label: trans.__('Start DDP Group'),
      isEnabled: () =>
        connection.group !== null && !running() && connection.group.state !== 'starting',
      execute: () => act(trans.__('Could not start the DDP group'), () => api.start(startRequest()))
    });
    app.commands.addCommand(CommandIDs.stop, {
      label: trans.__('Stop DDP Group'),
      isEnabled: () => connection.group !== null && connection.group.state !== 'stopped',
      execute: () => act(trans.__('Could not stop the DDP group'), () => api.stop())
    });
    const restart = () => act(trans.__('Could not restart the DDP group'), () => api.restart());
    app.commands.addCommand(CommandIDs.restart, {
      label: trans.__('Restart DDP Group'),
      isEnabled: () => connection.group !== null && connection.group.state !== 'stopped',
      execute: restart
    });
    app.commands.addCommand(CommandIDs.interrupt, {
      label: trans.__('Interrupt DDP Ranks'),
      isEnabled: running,
      execute: () => act(trans.__('Could not interrupt the ranks'), () => api.interrupt())
    });
    app.commands.addCommand(CommandIDs.controls, {
      label: trans.__('DDP Group…'),
      execute: async () => {
        const info = connection.group ? await api.group().catch(() => null) : null;
        const body = new GroupControls(connection.group, info?.notices ?? [], settings, trans);
        const isRunning = running() || connection.group?.state === 'failed';
        const buttons = [
          Dialog.cancelButton({ label: trans.__('Close') }),
          ...(isRunning
            ? [
                Dialog.warnButton({ label: trans.__('Stop'), ariaLabel: 'stop' }),
                Dialog.okButton({ label: trans.__('Restart'), ariaLabel: 'restart' })
              ]
            : [Dialog.okButton({ label: trans.__('Start'), ariaLabel: 'start' })])
        ];
        const result = await showDialog({ title: trans.__('DDP Group'), body, buttons });
        switch (result.button.ariaLabel) {
          case 'start':
            return act(trans.__('Could not start the DDP group'), () =>
              api.start(startRequest(body.request()))
            );
          case 'stop':
            return act(trans.__('Could not stop the DDP group'), () => api.stop());
          case 'restart':
            return restart();
          default:
            return false;
        }
      }
    });
    connection.groupChanged.connect(() => app.commands.notifyCommandChanged());
    if (palette) {
      const category = trans.__('DDP');
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category });
      }
    }

    /** Resolves true once the group is ready, false if it fails or stops on the way. */
    const untilReady = () =>
      new Promise<boolean>(resolve => {
        const check = () => {
          const state = connection.group?.state;
          if (state === 'starting') {
            return;
          }
          connection.groupChanged.disconnect(check);
          resolve(state === 'ready' || state === 'busy');
        };
        connection.groupChanged.connect(check);
        check();
      });

    return {
      startRequest,
      restart,
      ensureRunning: async (kernelName: string | undefined) => {
        lastKernel = kernelName ?? lastKernel;
        if (running()) {
          return true;
        }
        if (connection.group?.state === 'starting') {
          return untilReady();
        }
        if (connection.group === null) {
          await showErrorMessage(
            trans.__('No DDP server'),
            trans.__(
              'DDP cells need the jupyter-ddp server: start JupyterLab with `jupyter-ddp lab`.'
            )
          );
          return false;
        }
        if (!settings.startWithoutAsking) {
          const what = describeStart(startRequest(), device, trans);
          const answer = await showDialog({
            title: trans.__('Start the DDP group?'),
            body:
              connection.group.state === 'failed'
                ? trans.__(
                    'This cell runs on the DDP ranks, and the last group failed: %1. Start %2?',
                    connection.group.error ?? '',
                    what
                  )
                : trans.__(
                    'This cell runs on the DDP ranks, and no group is running. Start %1?',
                    what
                  ),
            buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Start') })]
          });
          if (!answer.button.accept) {
            return false;
          }
        }
        if (connection.group.state === 'failed') {
          await api.stop().catch(() => undefined);
        }
        try {
          await api.start(startRequest());
          return true;
        } catch (err) {
          // Someone else (a restart, another tab) is starting it right now: wait for that one.
          if (err instanceof ApiRequestError && err.status === 409) {
            return untilReady();
          }
          await showErrorMessage(trans.__('Could not start the DDP group'), (err as Error).message);
          return false;
        }
      }
    };
  }
};
