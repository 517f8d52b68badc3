import { Token } from '@lumino/coreutils';

import type { IExecutionFeeds } from './feeds';

/** The tab's one output feed per DDP execution shown, shared by its cell and the rank panel. */
export type IDdpFeeds = IExecutionFeeds;

export const IDdpFeeds = new Token<IDdpFeeds>(
  'jupyterlab-ddp:IDdpFeeds',
  'One output feed per DDP execution shown, shared by its cell and the rank panel.'
);
