import { expect, test } from '@playwright/test';
import * as path from 'node:path';

import {
  cell,
  openNotebook,
  outputOf,
  runAll,
  runFromPalette,
  setTheme,
  watchConsole,
  writeNotebook
} from './helpers';

const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

/** Cells on real CPU ranks (4, gloo) through the JupyterLab UI. The tests share one group. */
test.describe.configure({ mode: 'serial' });

const PRINT_RANK = 'import os\nprint("rank", os.environ.get("RANK", "local"))';

test('mark a cell DDP with its toolbar button and run it: rank 0 in the cell, all four on request', async ({
  page,
  request
}) => {
  const consoleErrors = watchConsole(page);
  // Cells start on the WebSocket the tab holds open, not with an HTTP request each, and their
  // outputs come on it too: no record is fetched when none is missing.
  const executePosts: string[] = [];
  const recordGets: string[] = [];
  page.on('request', r => {
    if (r.method() === 'POST' && r.url().includes('/ddp/api/groups/default/executions')) {
      executePosts.push(r.url());
    }
    if (r.method() === 'GET' && /\/ddp\/api\/groups\/default\/executions\/[^/?]+/.test(r.url())) {
      recordGets.push(r.url());
    }
  });
  await writeNotebook(request, 'toolbar.ipynb', [[null, PRINT_RANK]]);
  await openNotebook(page, 'toolbar.ipynb');
  await cell(page, 0).click();
  await cell(page, 0).locator('.jp-cell-toolbar [data-command="ddp:run-on-ddp"]').click();

  await expect(outputOf(page, 0)).toHaveText('rank 0', { timeout: 60_000 });
  await expect(cell(page, 0)).toHaveAttribute('data-ddp-mode', 'ddp');
  await expect(page.locator('.jp-ddp-StatusItem')).toHaveText('DDP: 4 x CPU ready');

  await cell(page, 0).click();
  await runFromPalette(page, 'Show Every Rank’s Output');
  await cell(page, 0).locator('.jp-cell-toolbar [data-command="ddp:run-on-ddp"]').click();
  for (const rank of [0, 1, 2, 3]) {
    await expect(outputOf(page, 0)).toContainText(`[rank ${rank}] rank ${rank}`);
  }
  await expect(cell(page, 0).locator('.jp-InputPrompt')).toHaveText(/^\[r\d+\]:$/);
  expect(executePosts).toEqual([]);
  expect(recordGets).toEqual([]);
  expect(consoleErrors()).toEqual([]);
});

test('an everywhere cell defines a name locally and on every rank; Run All keeps notebook order', async ({
  page,
  request
}) => {
  await writeNotebook(request, 'order.ipynb', [
    ['everywhere', 'import os, time\nz = 5\nprint("z", z, os.environ.get("RANK", "local"))'],
    ['local', 'acc = [1]'],
    [
      'ddp',
      'time.sleep(1)\nif os.environ["RANK"] == "0":\n    open("order.txt", "w").write(f"written by the ranks, z={z}")'
    ],
    ['local', 'print(open("order.txt").read(), acc, z)']
  ]);
  await openNotebook(page, 'order.ipynb');
  await runAll(page);
  await expect(outputOf(page, 3)).toHaveText('written by the ranks, z=5 [1] 5', {
    timeout: 60_000
  });
  await expect(outputOf(page, 0)).toHaveText(/^z 5 local\s+z 5 0\s*$/);
  await expect(cell(page, 0)).toHaveAttribute('data-ddp-mode', 'everywhere');

  if (process.env.DDP_SCREENSHOTS) {
    await cell(page, 2).click();
    await page.keyboard.press('Escape');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'ddp-cells-light.png') });
    await setTheme(page, 'JupyterLab Dark');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'ddp-cells-dark.png') });
    await setTheme(page, 'JupyterLab Light');
  }
});

test('auto-DDP sends unmarked cells to the ranks; a cell marked local stays local', async ({
  page,
  request
}) => {
  await writeNotebook(
    request,
    'auto.ipynb',
    [
      [null, PRINT_RANK],
      ['local', PRINT_RANK]
    ],
    true
  );
  await openNotebook(page, 'auto.ipynb');
  await expect(cell(page, 0)).toHaveAttribute('data-ddp-mode', 'ddp');
  await runAll(page);
  await expect(outputOf(page, 0)).toHaveText('rank 0', { timeout: 60_000 });
  await expect(outputOf(page, 1)).toHaveText('rank local');

  // The notebook toolbar's toggle turns auto-DDP off: the unmarked cell runs locally again.
  await page.locator('.jp-NotebookPanel-toolbar [data-command="ddp:toggle-auto"]').click();
  await expect(cell(page, 0)).not.toHaveAttribute('data-ddp-mode', 'ddp');
  await cell(page, 0).click();
  await page.keyboard.press('Shift+Enter');
  await expect(outputOf(page, 0)).toHaveText('rank local');
});

test('an error on rank 1 only shows in the cell, rank 1 named', async ({ page, request }) => {
  await writeNotebook(request, 'error.ipynb', [
    [
      'ddp',
      'import os\nif os.environ["RANK"] == "1":\n    raise ValueError("only rank one fails")\nprint("rank 0 is fine")'
    ]
  ]);
  await openNotebook(page, 'error.ipynb');
  await runAll(page);
  await expect(outputOf(page, 0)).toContainText('rank 0 is fine', { timeout: 60_000 });
  await expect(outputOf(page, 0)).toContainText('[rank 1]');
  await expect(outputOf(page, 0)).toContainText('ValueError: only rank one fails');
});

test('the stop button interrupts a sleeping DDP cell; restart gives a fresh group', async ({
  page,
  request
}) => {
  await writeNotebook(request, 'interrupt.ipynb', [
    ['ddp', 'fresh = "no"\nimport time\ntime.sleep(120)'],
    ['ddp', 'print("fresh" in globals())']
  ]);
  await openNotebook(page, 'interrupt.ipynb');
  await cell(page, 0).click();
  await page.keyboard.press('Shift+Enter');
  await expect(page.locator('.jp-ddp-StatusItem')).toHaveText('DDP: 4 x CPU busy', {
    timeout: 60_000
  });
  await page
    .locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]')
    .click();
  await expect(outputOf(page, 0)).toContainText('KeyboardInterrupt', { timeout: 15_000 });
  await expect(page.locator('.jp-ddp-StatusItem')).toHaveText('DDP: 4 x CPU ready');

  await page.locator('.jp-ddp-StatusItem').click();
  await page.locator('.jp-Dialog').getByRole('button', { name: 'Restart' }).click();
  // Run at once: the cell waits for the restarting group.
  await cell(page, 1).click();
  await page.keyboard.press('Shift+Enter');
  await expect(outputOf(page, 1)).toHaveText('False', { timeout: 60_000 });
  await expect(page.locator('.jp-ddp-StatusItem')).toHaveText('DDP: 4 x CPU ready');
});

test('marks set with shortcuts are saved with the notebook and come back on reopening', async ({
  page,
  request
}) => {
  await writeNotebook(request, 'marks.ipynb', [
    [null, 'a = 1'],
    [null, 'b = 2'],
    [null, 'c = 3']
  ]);
  await openNotebook(page, 'marks.ipynb');
  await cell(page, 0).click();
  await page.keyboard.press('Escape');
  await page.keyboard.press('Alt+d');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Alt+e');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Alt+l');
  await expect(cell(page, 2)).toHaveAttribute('data-ddp-mode', 'local');
  await page.keyboard.press('Control+s');

  // The save is asynchronous: read the file until it has the marks.
  const savedModes = async () => {
    const saved = await (await request.get('/api/contents/marks.ipynb?token=ui-test-token')).json();
    return saved.content.cells.map(
      (c: { metadata: { ddp?: { mode: string } } }) => c.metadata.ddp?.mode
    );
  };
  await expect.poll(savedModes).toEqual(['ddp', 'everywhere', 'local']);
  await openNotebook(page, 'marks.ipynb');
  await expect(cell(page, 0)).toHaveAttribute('data-ddp-mode', 'ddp');
  await expect(cell(page, 1)).toHaveAttribute('data-ddp-mode', 'everywhere');
  await expect(cell(page, 2)).toHaveAttribute('data-ddp-mode', 'local');
});

test('reloading the page mid-cell loses no output, and the cell finishes normally', async ({
  page,
  request
}) => {
  await writeNotebook(request, 'reload.ipynb', [
    [
      'ddp',
      'import time\nfor i in range(20):\n    print("tick", i, flush=True)\n    time.sleep(0.5)'
    ]
  ]);
  await openNotebook(page, 'reload.ipynb');
  await cell(page, 0).click();
  await page.keyboard.press('Shift+Enter');
  await expect(outputOf(page, 0)).toContainText('tick 1', { timeout: 60_000 });

  await page.reload();
  await expect(outputOf(page, 0)).toContainText('tick 19', { timeout: 60_000 });
  const text = await outputOf(page, 0).textContent();
  for (let i = 0; i < 20; i++) {
    expect(text).toContain(`tick ${i}`);
  }
  // The ranks' count, told apart from the notebook kernel's.
  await expect(cell(page, 0).locator('.jp-InputPrompt')).toHaveText(/^\[r\d+\]:$/);
});
