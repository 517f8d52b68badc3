import { LabIcon } from '@jupyterlab/ui-components';

import ddpSvg from '../style/icons/ddp.svg';
import everywhereSvg from '../style/icons/everywhere.svg';
import localSvg from '../style/icons/local.svg';

export const ddpIcon = new LabIcon({ name: 'jupyterlab-ddp:ddp', svgstr: ddpSvg });
export const everywhereIcon = new LabIcon({
  name: 'jupyterlab-ddp:everywhere',
  svgstr: everywhereSvg
});
export const localIcon = new LabIcon({ name: 'jupyterlab-ddp:local', svgstr: localSvg });
