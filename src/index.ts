import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { cellsPlugin } from './cells/plugin';
import { clientPlugin } from './client/plugin';
import { executorPlugin, ranksPromptPlugin, reattachPlugin } from './executor/plugin';
import { groupPlugin } from './group/plugin';
import { warmStartPlugin } from './group/warm-start';
import { feedsPlugin } from './outputs/plugin';
import { executionsPlugin, panelPlugin } from './panel/plugin';
import { statusPlugin } from './status/plugin';
import { transferPlugin } from './transfer/plugin';

const plugins: JupyterFrontEndPlugin<unknown>[] = [
  clientPlugin,
  feedsPlugin,
  groupPlugin,
  warmStartPlugin,
  statusPlugin,
  cellsPlugin,
  executorPlugin,
  reattachPlugin,
  ranksPromptPlugin,
  executionsPlugin,
  panelPlugin,
  transferPlugin
];

export default plugins;
