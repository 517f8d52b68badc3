import { APIRequestContext, expect, Page, test } from '@playwright/test';

import { TOKEN } from '../playwright.config';
import {
  cell,
  openNotebook,
  outputOf,
  runAll,
  stopGroup,
  watchConsole,
  writeNotebook
} from './helpers';

/**
 * What a DDP cell and the status bar say when ranks misbehave, on real CPU ranks (4, gloo): a
 * straggler, an interrupt a collective ignores, a stopped (SIGSTOP) rank, a rank that dies; and
 * the ranks' prompt and the start dialog. The tests share one group, in this order.
 */
test.describe.configure({ mode: 'serial' });

const status = (page: Page) => page.locator('.jp-ddp-StatusItem');
const notice = (page: Page, n: number) => cell(page, n).locator('.jp-ddp-CellNotice');
const prompt = (page: Page, n: number) => cell(page, n).locator('.jp-InputPrompt');

/** The cell ends, whatever ended it: its prompt no longer says [*]. */
async function expectEnded(page: Page, n: number): Promise<void> {
  await expect(prompt(page, n)).not.toHaveText('[*]:', { timeout: 60_000 });
  await expect(notice(page, n)).toHaveCount(0);
}

async function groupSettings(request: APIRequestContext, settings: object): Promise<void> {
  const res = await request.put(`/lab/api/settings/jupyterlab-ddp:group?token=${TOKEN}`, {
    data: { raw: JSON.stringify(settings) }
  });
  expect(res.ok()).toBe(true);
}

async function saved(request: APIRequestContext, name: string) {
  const res = await request.get(`/api/contents/${name}?token=${TOKEN}`);
  return (await res.json()).content as {
    cells: {
      execution_count: number | null;
      metadata: { ddp?: { ranksCount?: number } };
      outputs: { output_type: string; ename?: string; evalue?: string }[];
    }[];
  };
}

test('the start dialog says what will start; a DDP cell’s prompt is the ranks’ [rN], after a save too', async ({
  page,
  request
}) => {
  const consoleErrors = watchConsole(page);
  await stopGroup(request);
  // Read when the page loads: set before it opens, restored for the tests after this one.
  await groupSettings(request, { cpuRanks: 4, startWithoutAsking: false });
  try {
    await writeNotebook(request, 'prompt.ipynb', [
      ['local', 'x = 1'],
      ['ddp', 'print("on the ranks")']
    ]);
    await openNotebook(page, 'prompt.ipynb');
    await runAll(page);
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText(
      'This cell runs on the DDP ranks, and no group is running. Start a rank on every GPU (4 CPU ranks where there is no GPU)?'
    );
    await dialog.getByRole('button', { name: 'Start' }).click();
    await expect(outputOf(page, 1)).toHaveText('on the ranks', { timeout: 90_000 });

    // Once the tab has seen the group run, the dialog can say exactly what will start.
    await stopGroup(request);
    await expect(status(page)).toHaveText('DDP: stopped');
    await cell(page, 1).click();
    await page.keyboard.press('Shift+Enter');
    await expect(dialog).toContainText(
      'This cell runs on the DDP ranks, and no group is running. Start 4 CPU ranks?'
    );
    await dialog.getByRole('button', { name: 'Start' }).click();
    await expect(outputOf(page, 1)).toHaveText('on the ranks', { timeout: 90_000 });
  } finally {
    await groupSettings(request, { cpuRanks: 4, startWithoutAsking: true });
  }
  await expect(prompt(page, 0)).toHaveText(/^\[\d+\]:$/);
  await expect(prompt(page, 1)).toHaveText(/^\[r\d+\]:$/);
  await expect(prompt(page, 1)).toHaveAttribute('title', /DDP ranks/);

  await page.keyboard.press('Control+s');
  await expect
    .poll(async () => (await saved(request, 'prompt.ipynb')).cells[1].metadata.ddp?.ranksCount)
    .toEqual(expect.any(Number));
  const content = await saved(request, 'prompt.ipynb');
  // nbformat's execution_count stays the plain integer; the metadata says it is the ranks'.
  expect(content.cells[1].execution_count).toBe(content.cells[1].metadata.ddp?.ranksCount);
  expect(content.cells[0].metadata.ddp?.ranksCount).toBeUndefined();
  await openNotebook(page, 'prompt.ipynb');
  await expect(prompt(page, 1)).toHaveText(`[r${content.cells[1].execution_count}]:`);
  await expect(prompt(page, 0)).toHaveText(`[${content.cells[0].execution_count}]:`);
  expect(consoleErrors()).toEqual([]);
});

test('a rank still running long after the others finished is named in its cell, seconds counting', async ({
  page,
  request
}) => {
  await writeNotebook(request, 'straggler.ipynb', [
    [
      'ddp',
      'import os, time\nif os.environ["RANK"] == "1":\n    time.sleep(14)\nprint("done", os.environ["RANK"])'
    ]
  ]);
  await openNotebook(page, 'straggler.ipynb');
  await cell(page, 0).click();
  await page.keyboard.press('Shift+Enter');
  const text = notice(page, 0).locator('.jp-ddp-CellNotice-text');
  await expect(text).toHaveText(
    /^rank 1 still running, \d+ s after ranks 0, 2, 3 finished: a collective the others did not call\?$/,
    { timeout: 60_000 }
  );
  const seconds = async () => Number((await text.textContent())?.match(/, (\d+) s after/)?.[1]);
  const first = await seconds();
  expect(first).toBeGreaterThanOrEqual(5);
  await expect.poll(seconds, { timeout: 10_000 }).toBeGreaterThan(first);
  // Nothing was stopped: rank 1 finishes, and the notice goes with the end of the cell.
  await expect(outputOf(page, 0)).toHaveText('done 0', { timeout: 30_000 });
  await expectEnded(page, 0);
  await expect(status(page)).toHaveText('DDP: 4 x CPU ready');
});

test('an interrupt a blocked collective ignores is said in the cell, which offers the restart', async ({
  page,
  request
}) => {
  await writeNotebook(request, 'blocked.ipynb', [
    [
      'ddp',
      'marker = 1\nimport os\nimport torch.distributed as dist\nif os.environ["RANK"] == "1":\n    dist.barrier()  # the others never call it\nprint("skipped the barrier")'
    ],
    ['ddp', 'print("fresh" if "marker" not in globals() else "old")']
  ]);
  await openNotebook(page, 'blocked.ipynb');
  await cell(page, 0).click();
  await page.keyboard.press('Shift+Enter');
  await expect(notice(page, 0)).toContainText('rank 1 still running', { timeout: 60_000 });

  await page
    .locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]')
    .click();
  await expect(notice(page, 0)).toContainText(
    /The interrupt did not stop rank 1 within \d+ s: gloo\/NCCL collectives ignore interrupts/,
    { timeout: 30_000 }
  );
  await expect(prompt(page, 0)).toHaveText('[*]:');
  await notice(page, 0).getByRole('button', { name: 'Restart group' }).click();

  // The restart ends the execution as aborted: the cell says why, and stops showing [*].
  await expectEnded(page, 0);
  await expect(outputOf(page, 0)).toContainText('DDP group: the group was restarted');
  await expect(status(page)).toHaveText('DDP: 4 x CPU ready', { timeout: 60_000 });
  await cell(page, 1).click();
  await page.keyboard.press('Shift+Enter');
  await expect(outputOf(page, 1)).toHaveText('fresh', { timeout: 60_000 });
});

test('a stopped (SIGSTOP) rank is named in the cell and the status bar', async ({
  page,
  request
}) => {
  await writeNotebook(request, 'sigstop.ipynb', [
    [
      'ddp',
      'import os, signal, time\nif os.environ["RANK"] == "2":\n    os.kill(os.getpid(), signal.SIGSTOP)\ntime.sleep(300)'
    ]
  ]);
  await openNotebook(page, 'sigstop.ipynb');
  await cell(page, 0).click();
  await page.keyboard.press('Shift+Enter');
  await expect(status(page)).toHaveText('DDP: 4 x CPU busy — rank 2 not responding', {
    timeout: 60_000
  });
  const item = notice(page, 0).locator('.jp-ddp-CellNotice-item[data-kind="unresponsive"]');
  await expect(item).toContainText('rank 2');
  await item.getByRole('button', { name: 'Restart group' }).click();
  await expectEnded(page, 0);
  await expect(status(page)).toHaveText('DDP: 4 x CPU ready', { timeout: 60_000 });
});

test('a rank that dies ends the cell with the failure in its outputs, saved with the notebook', async ({
  page,
  request
}) => {
  await writeNotebook(request, 'dies.ipynb', [
    ['ddp', 'import os, time\nif os.environ["RANK"] == "3":\n    os._exit(3)\ntime.sleep(60)']
  ]);
  await openNotebook(page, 'dies.ipynb');
  await cell(page, 0).click();
  await page.keyboard.press('Shift+Enter');
  await expect(outputOf(page, 0)).toContainText(/DDP group: rank 3 exited/, { timeout: 60_000 });
  await expectEnded(page, 0);
  await expect(status(page)).toHaveText(/^DDP: failed — rank 3 exited/);

  await page.keyboard.press('Control+s');
  await expect
    .poll(async () => (await saved(request, 'dies.ipynb')).cells[0].outputs.map(o => o.ename))
    .toContain('DdpGroupError');
  await stopGroup(request);
});
