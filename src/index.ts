import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { cellsPlugin } from './cells/plugin';
import { clientPlugin } from './client/plugin';
import { executorPlugin } from './executor/plugin';
import { groupPlugin } from './group/plugin';
import { statusPlugin } from './status/plugin';

const plugins: JupyterFrontEndPlugin<unknown>[] = [
  clientPlugin,
  groupPlugin,
  statusPlugin,
  cellsPlugin,
  executorPlugin
];

export default plugins;
