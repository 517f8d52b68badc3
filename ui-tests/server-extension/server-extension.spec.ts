import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { cell, openNotebook, outputOf, watchConsole, writeNotebook } from '../tests/helpers';
import { serverExtensionDir, TOKEN } from '../playwright.config';

/**
 * A plain `jupyter server` (Debian's jupyter_server 1.23) with the jupyterlab_ddp package
 * installed in a venv: no `jupyter-ddp lab` in front. The extension runs the DDP server as its
 * child and serves /ddp/ itself; the same frontend finds it there. 2 CPU ranks.
 */
test.describe.configure({ mode: 'serial' });

const RANK_AND_SIZE =
  'import torch.distributed as dist\nprint("rank", dist.get_rank(), "of", dist.get_world_size())';

/** Node processes whose command line contains `text` (not the guard above them), as pids. */
function nodesRunning(text: string): number[] {
  let pids: number[];
  try {
    pids = execFileSync('pgrep', ['-f', text]).toString().trim().split('\n').map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
  return pids.filter(pid => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node';
    } catch {
      return false; // gone
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Group {
  state: string;
  ranks?: { rank: number; pid: number }[];
}

test('a DDP cell runs under a plain jupyter server with the package installed', async ({
  page,
  request
}) => {
  const consoleErrors = watchConsole(page);
  // the server extension answers /ddp/ under Jupyter's own auth
  expect((await request.get('/ddp/api/health')).status()).toBe(403);
  await writeNotebook(request, 'plain.ipynb', [['ddp', RANK_AND_SIZE]]);
  await openNotebook(page, 'plain.ipynb');
  await expect(page.locator('.jp-ddp-StatusItem')).toHaveText('DDP: stopped');
  await cell(page, 0).click();
  await page.keyboard.press('Shift+Enter');
  await expect(outputOf(page, 0)).toHaveText('rank 0 of 2', { timeout: 90_000 });
  await expect(page.locator('.jp-ddp-StatusItem')).toHaveText('DDP: 2 x CPU ready');
  expect(consoleErrors()).toEqual([]);
});

test('killing the DDP server: it is started again, the UI says so, Jupyter keeps working', async ({
  page,
  request
}) => {
  await writeNotebook(request, 'killed.ipynb', [
    ['ddp', RANK_AND_SIZE],
    ['local', 'print("local", 6 * 7)']
  ]);
  await openNotebook(page, 'killed.ipynb');
  await cell(page, 0).click();
  await page.keyboard.press('Shift+Enter');
  await expect(outputOf(page, 0)).toHaveText('rank 0 of 2', { timeout: 90_000 });
  const group = (await (
    await request.get(`/ddp/api/groups/default?token=${TOKEN}`)
  ).json()) as Group;
  const rankPids = (group.ranks ?? []).map(r => r.pid);
  expect(rankPids).toHaveLength(2);

  // this server's Node child
  const serving = `jupyter-ddp.js serve --root-dir ${path.join(serverExtensionDir, 'notebooks')}`;
  const [node] = nodesRunning(serving);
  expect(node).toBeGreaterThan(0);
  const runtimeDir = /--runtime-dir (\S+)/.exec(
    fs.readFileSync(`/proc/${node}/cmdline`, 'utf8').split('\0').join(' ')
  )?.[1] as string;
  expect(fs.readdirSync(runtimeDir).filter(f => f.startsWith('kernel-'))).not.toEqual([]);
  process.kill(node, 'SIGKILL');

  await expect(page.locator('.Toastify__toast--warning')).toContainText(
    'The DDP server stopped (exited with signal SIGKILL) and was started again',
    { timeout: 60_000 }
  );
  await expect(page.locator('.jp-ddp-StatusItem')).toHaveText('DDP: stopped');
  // its ranks ended with it (their guards saw it go), and their connection files with them
  await expect.poll(() => rankPids.filter(alive), { timeout: 30_000 }).toEqual([]);
  await expect
    .poll(() => fs.readdirSync(runtimeDir).filter(f => f.startsWith('kernel-')))
    .toEqual([]);
  expect(nodesRunning(serving)).not.toContain(node);

  // the notebook's own kernel and the rest of Jupyter never noticed
  await cell(page, 1).click();
  await page.keyboard.press('Shift+Enter');
  await expect(outputOf(page, 1)).toHaveText('local 42');
  // and the next DDP cell starts a new group on the new server
  await cell(page, 0).click();
  await page.keyboard.press('Shift+Enter');
  await expect(outputOf(page, 0)).toHaveText('rank 0 of 2', { timeout: 90_000 });
});
