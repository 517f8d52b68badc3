import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { statusPlugin } from './status/plugin';

const plugins: JupyterFrontEndPlugin<unknown>[] = [statusPlugin];

export default plugins;
