import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, Notification, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator } from '@jupyterlab/translation';

import { IDdpClient } from '../client/tokens';
import { TransferCommandIDs } from '../commands/ids';
import { KernelClients } from '../executor/local-run';
import { IDdpGroupManager } from '../group/tokens';
import { isMagicError, parseCell } from '../protocol/magics';
import { ddpTranslations } from '../translation';

/**
 * Push names from the current notebook's kernel to the ranks, and pull them back, from the palette
 * and the rank output panel. The dialogs take `%dipush` / `%dipull` arguments, read by the same
 * parser as cells; the values go through the kernel's `ddp` client like the magics'.
 */
export const transferPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-ddp:transfer',
  description: 'Push and pull variables between the notebook kernel and the DDP ranks.',
  autoStart: true,
  requires: [IDdpClient, IDdpGroupManager, INotebookTracker],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: IDdpClient,
    groups: IDdpGroupManager,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = ddpTranslations(translator);
    const clients = new KernelClients(client.api);

    /** Run one magic line in the current notebook's kernel; shows its error, if any. */
    const runMagic = async (line: string, done: string): Promise<void> => {
      const context = notebooks.currentWidget?.sessionContext;
      const kernel = context?.session?.kernel;
      if (!kernel) {
        await showErrorMessage(trans.__('No notebook kernel'), trans.__('Open a notebook first.'));
        return;
      }
      const parsed = parseCell(line);
      if (isMagicError(parsed)) {
        await showErrorMessage(trans.__('Cannot transfer'), parsed.error);
        return;
      }
      // Like a DDP cell: no group yet offers to start one.
      if (!(await groups.ensureRunning(kernel.name))) {
        return;
      }
      await clients.ensure(context);
      const reply = await kernel.requestExecute({
        code: parsed.code,
        silent: true,
        store_history: false
      }).done;
      if (reply.content.status === 'error') {
        await showErrorMessage(
          trans.__('Transfer failed'),
          `${reply.content.ename}: ${reply.content.evalue}`
        );
      } else {
        Notification.success(done, { autoClose: 3000 });
      }
    };

    app.commands.addCommand(TransferCommandIDs.push, {
      label: trans.__('Push Variables to the DDP Ranks…'),
      caption: trans.__('Send names of the notebook kernel to every rank'),
      isEnabled: () => notebooks.currentWidget !== null,
      execute: async () => {
        const answer = await InputDialog.getText({
          title: trans.__('Push to every rank'),
          label: trans.__('Names in the notebook kernel (as for %dipush: a b [-r 0,2])'),
          placeholder: 'model optimizer'
        });
        if (answer.button.accept && answer.value?.trim()) {
          await runMagic(`%dipush ${answer.value}`, trans.__('Pushed: %1', answer.value));
        }
      }
    });
    app.commands.addCommand(TransferCommandIDs.pull, {
      label: trans.__('Pull Variables from a DDP Rank…'),
      caption: trans.__('Bring names of a rank into the notebook kernel'),
      isEnabled: () => notebooks.currentWidget !== null,
      execute: async () => {
        const answer = await InputDialog.getText({
          title: trans.__('Pull from a rank'),
          label: trans.__('Names on the rank (as for %dipull: [-r RANK] a b; rank 0 by default)'),
          placeholder: '-r 1 losses'
        });
        if (answer.button.accept && answer.value?.trim()) {
          await runMagic(`%dipull ${answer.value}`, trans.__('Pulled: %1', answer.value));
        }
      }
    });
    for (const command of Object.values(TransferCommandIDs)) {
      palette?.addItem({ command, category: trans.__('DDP') });
    }
  }
};
