import { APIRequestContext, expect, Page, test } from '@playwright/test';

import { TOKEN } from '../playwright.config';
import { openNotebook, outputOf, runAll, stopGroup, watchConsole, writeNotebook } from './helpers';

/**
 * Warm start: opening a notebook with DDP cells or Ddip magics has the server start the ranks'
 * spare kernels, before any group runs; the `warmStart` setting turns it off. On real CPU ranks.
 */
test.describe.configure({ mode: 'serial' });

/** The playwright config's group settings, which the other specs expect. */
const CONFIG_SETTINGS = { cpuRanks: 4, startWithoutAsking: true };

async function groupSettings(request: APIRequestContext, settings: object): Promise<void> {
  const res = await request.put(`/lab/api/settings/jupyterlab-ddp:group?token=${TOKEN}`, {
    data: { raw: JSON.stringify(settings) }
  });
  expect(res.ok()).toBe(true);
}

async function get(request: APIRequestContext, route: string) {
  const res = await request.get(`/ddp/api/groups/default${route}?token=${TOKEN}`);
  expect(res.ok()).toBe(true);
  return res.json();
}

/** The warm calls the page makes. */
function warmPosts(page: Page): string[] {
  const posts: string[] = [];
  page.on('request', r => {
    if (r.method() === 'POST' && r.url().includes('/ddp/api/groups/default/warm')) {
      posts.push(r.postData() ?? '');
    }
  });
  return posts;
}

test('with the warmStart setting off, opening a notebook with DDP cells warms nothing', async ({
  page,
  request
}) => {
  await stopGroup(request); // ends any spares too
  // Read when the page loads: set before it opens, restored for the tests after this one.
  await groupSettings(request, { ...CONFIG_SETTINGS, warmStart: false });
  try {
    const posts = warmPosts(page);
    await writeNotebook(request, 'warm-off.ipynb', [['ddp', 'print(1)']]);
    // The warm call would go as soon as the notebook is loaded, before its kernel is idle.
    await openNotebook(page, 'warm-off.ipynb');
    expect(posts).toEqual([]);
    expect(await get(request, '/warm')).toMatchObject({ size: 0, spares: 0 });
  } finally {
    await groupSettings(request, CONFIG_SETTINGS);
  }
});

test('opening a notebook with a DDP cell warms its group’s spares; its first DDP cell takes them', async ({
  page,
  request
}) => {
  const consoleErrors = watchConsole(page);
  await stopGroup(request);
  const posts = warmPosts(page);
  await writeNotebook(request, 'warm-marked.ipynb', [
    [null, 'x = 1'],
    ['ddp', 'import os\nprint("rank", os.environ["RANK"])']
  ]);
  await openNotebook(page, 'warm-marked.ipynb');
  // Four spares of the notebook's kernel (the settings' 4 CPU ranks), warm, and no group yet.
  await expect
    .poll(() => get(request, '/warm'), { timeout: 90_000 })
    .toMatchObject({ kernelName: 'python3', size: 4, spares: 4, warm: 4 });
  expect((await get(request, '/warm')).expiresAt).toEqual(expect.any(Number));
  expect(await get(request, '')).toMatchObject({ state: 'stopped', worldSize: 0 });
  expect(posts.map(p => JSON.parse(p))).toEqual([
    expect.objectContaining({ kernelName: 'python3', cpuRanks: 4 })
  ]);

  await runAll(page);
  await expect(outputOf(page, 1)).toHaveText('rank 0', { timeout: 60_000 });
  expect(await get(request, '')).toMatchObject({ state: 'ready', worldSize: 4 });
  // The group's own spares now, for restarts: no time limit.
  expect((await get(request, '/warm')).expiresAt).toBeNull();
  expect(consoleErrors()).toEqual([]);
});

test('Ddip magics warm too, in the shape %makedip asks for; a running group is not warmed', async ({
  page,
  request
}) => {
  await stopGroup(request);
  await writeNotebook(request, 'warm-ddip.ipynb', [
    [null, '%load_ext Ddip\n%makedip -c 2'],
    [null, '%%dip\nprint("on the ranks")']
  ]);
  await openNotebook(page, 'warm-ddip.ipynb');
  await expect
    .poll(() => get(request, '/warm'), { timeout: 90_000 })
    .toMatchObject({ kernelName: 'python3', size: 2, spares: 2 });
  await runAll(page);
  await expect(outputOf(page, 1)).toHaveText('on the ranks', { timeout: 60_000 });
  expect(await get(request, '')).toMatchObject({ state: 'ready', worldSize: 2 });

  // With the group running, opening a notebook with DDP cells asks for nothing.
  const posts = warmPosts(page);
  await writeNotebook(request, 'warm-running.ipynb', [['ddp', 'print(2)']]);
  await openNotebook(page, 'warm-running.ipynb');
  expect(posts).toEqual([]);
  expect(await get(request, '/warm')).toMatchObject({ size: 2, expiresAt: null });
  await stopGroup(request);
});
