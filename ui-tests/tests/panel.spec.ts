import { APIRequestContext, expect, Page, test } from '@playwright/test';

import { TOKEN } from '../playwright.config';
import {
  cell,
  openNotebook,
  outputOf,
  runFromPalette,
  watchConsole,
  writeNotebook
} from './helpers';

/** The rank output panel on real CPU ranks (4, gloo). The tests share one group. */
test.describe.configure({ mode: 'serial' });

const PRINT_RANK = 'import os\nprint("rank", os.environ.get("RANK", "local"))';
const CUT_NOTE = '[jupyter-ddp: earlier output was cut to keep the page responsive]';
/** The default of the executor's `maxCellOutputChars` setting. */
const MAX_CELL_OUTPUT_CHARS = 200_000;

const panelOf = (page: Page) => page.locator('.jp-ddp-RankPanel');
const paneOf = (page: Page, rank: number) =>
  panelOf(page).locator(`.jp-ddp-RankPane[data-rank="${rank}"]`);
const outputsOf = (page: Page, rank: number) => paneOf(page, rank).locator('.jp-OutputArea');
const tabOf = (page: Page, rank: number) =>
  panelOf(page).getByRole('tab', { name: `Rank ${rank}`, exact: true });

/** Run cell n with Shift+Enter. */
async function runCell(page: Page, n: number): Promise<void> {
  await cell(page, n).click();
  await page.keyboard.press('Shift+Enter');
}

/** Wait until the workspace saved on the server holds the panel (what a reload restores). */
async function waitForSavedPanel(
  request: APIRequestContext,
  workspace: string,
  check: (state: Record<string, unknown>) => boolean
): Promise<void> {
  await expect
    .poll(
      async () => {
        const res = await request.get(`/lab/api/workspaces/${workspace}?token=${TOKEN}`);
        if (!res.ok()) {
          return false;
        }
        const data = (await res.json()).data as Record<string, { data?: Record<string, unknown> }>;
        const saved = data['ddp-rank-outputs:ddp-rank-outputs']?.data;
        return saved !== undefined && check(saved);
      },
      { timeout: 15_000 }
    )
    .toBe(true);
}

test('the panel shows every rank’s output; the filter narrows it to rank 2', async ({
  page,
  request
}) => {
  const consoleErrors = watchConsole(page);
  await writeNotebook(request, 'panel.ipynb', [['ddp', PRINT_RANK]]);
  await openNotebook(page, 'panel.ipynb');
  await runCell(page, 0);
  await expect(outputOf(page, 0)).toHaveText('rank 0', { timeout: 60_000 });

  await runFromPalette(page, 'DDP Rank Outputs');
  const panel = panelOf(page);
  await expect(panel).toBeVisible();
  // It opens beside the notebook, not over it.
  await expect(page.locator('.jp-NotebookPanel')).toBeVisible();
  await expect(panel.locator('.jp-ddp-RankPanel-source')).toHaveText('panel.ipynb, cell 1');
  await expect(panel.locator('.jp-ddp-RankPanel-status')).toHaveAttribute('data-status', 'ok');
  await expect(panel.locator('.jp-ddp-RankPanel-status')).toHaveText('ok');

  // Tabbed: one rank at a time, by click or arrow keys.
  await expect(panel.getByRole('tab')).toHaveCount(4);
  await expect(outputsOf(page, 0)).toHaveText('rank 0');
  await expect(paneOf(page, 1)).toBeHidden();
  await tabOf(page, 3).click();
  await expect(outputsOf(page, 3)).toHaveText('rank 3');
  await expect(paneOf(page, 0)).toBeHidden();
  await page.keyboard.press('ArrowLeft');
  await expect(tabOf(page, 2)).toHaveAttribute('aria-selected', 'true');
  await expect(tabOf(page, 2)).toBeFocused();
  await expect(outputsOf(page, 2)).toHaveText('rank 2');

  // Side by side: all four at once.
  await panel.getByLabel('All ranks side by side').check();
  for (const rank of [0, 1, 2, 3]) {
    await expect(paneOf(page, rank)).toBeVisible();
    await expect(outputsOf(page, rank)).toHaveText(`rank ${rank}`);
    await expect(paneOf(page, rank).locator('.jp-ddp-RankPane-title')).toHaveText(`Rank ${rank}`);
  }

  // Filter to rank 2 only.
  for (const rank of [0, 1, 3]) {
    await panel.getByLabel(`Show rank ${rank}`).uncheck();
  }
  await expect(panel.locator('.jp-ddp-RankPane:visible')).toHaveCount(1);
  await expect(paneOf(page, 2)).toBeVisible();
  await expect(outputsOf(page, 2)).toHaveText('rank 2');
  for (const rank of [0, 1, 3]) {
    await expect(paneOf(page, rank)).toBeHidden();
  }
  // Back to tabs: only rank 2's tab is left.
  await panel.getByLabel('All ranks side by side').uncheck();
  await expect(panel.getByRole('tab')).toHaveCount(1);
  await expect(tabOf(page, 2)).toHaveAttribute('aria-selected', 'true');
  await expect(panel.locator('.jp-ddp-RankPane:visible .jp-OutputArea')).toHaveText('rank 2');
  expect(consoleErrors()).toEqual([]);
});

test('the panel follows a running cell on its cell’s feed: no HTTP request for its outputs', async ({
  page,
  request
}) => {
  const recordGets: string[] = [];
  page.on('request', r => {
    if (r.method() === 'GET' && /\/ddp\/api\/groups\/default\/executions\/[^/?]+/.test(r.url())) {
      recordGets.push(r.url());
    }
  });
  await writeNotebook(request, 'follow.ipynb', [['ddp', PRINT_RANK]]);
  await openNotebook(page, 'follow.ipynb');
  await runFromPalette(page, 'DDP Rank Outputs');
  const panel = panelOf(page);
  await expect(panel).toBeVisible();
  await runCell(page, 0);
  await expect(outputOf(page, 0)).toHaveText('rank 0', { timeout: 60_000 });
  await expect(panel.locator('.jp-ddp-RankPanel-status')).toHaveAttribute('data-status', 'ok');
  await expect(panel.getByRole('tab')).toHaveCount(4);
  await expect(outputsOf(page, 0)).toHaveText('rank 0');
  await expect(cell(page, 0).locator('.jp-InputPrompt')).toHaveText(/^\[r\d+\]:$/);
  expect(recordGets).toEqual([]);
});

test('the panel comes back after a reload, with its layout, filter and execution', async ({
  page,
  request
}) => {
  const consoleErrors = watchConsole(page);
  await writeNotebook(request, 'restore.ipynb', [['ddp', PRINT_RANK]]);
  await openNotebook(page, 'restore.ipynb');
  await runCell(page, 0);
  await expect(outputOf(page, 0)).toHaveText('rank 0', { timeout: 60_000 });

  // Open it from the Run menu this time.
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^DDP Rank Outputs$/ }).click();
  const panel = panelOf(page);
  await panel.getByLabel('All ranks side by side').check();
  await panel.getByLabel('Show rank 1').uncheck();
  await expect(outputsOf(page, 3)).toHaveText('rank 3');
  await waitForSavedPanel(
    request,
    'restore-ipynb',
    saved =>
      saved.sideBySide === true &&
      JSON.stringify(saved.hiddenRanks) === '[1]' &&
      typeof saved.execution === 'string'
  );

  await page.goto(`/lab/workspaces/restore-ipynb?token=${TOKEN}`);
  await page.locator('#jp-main-statusbar').waitFor();
  await expect(panel).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('.jp-NotebookPanel')).toBeVisible();
  await expect(panel.getByLabel('All ranks side by side')).toBeChecked();
  await expect(panel.getByLabel('Show rank 1')).not.toBeChecked();
  await expect(panel.locator('.jp-ddp-RankPanel-status')).toHaveAttribute('data-status', 'ok');
  for (const rank of [0, 2, 3]) {
    await expect(outputsOf(page, rank)).toHaveText(`rank ${rank}`);
  }
  await expect(paneOf(page, 1)).toBeHidden();
  expect(consoleErrors()).toEqual([]);
});

test('a flood of 4 x 200000 lines: the cell stays bounded, the panel has every rank’s end, the page responds', async ({
  page,
  request
}) => {
  test.setTimeout(300_000);
  await writeNotebook(request, 'flood.ipynb', [
    ['ddp', 'for i in range(200000):\n    print(i)'],
    ['local', 'print(6 * 7)']
  ]);
  await openNotebook(page, 'flood.ipynb');
  // Opened first, the panel follows the cell while it runs.
  await runFromPalette(page, 'DDP Rank Outputs');
  const panel = panelOf(page);
  await expect(panel).toBeVisible();
  await runCell(page, 0);
  // The page answers while the flood comes in (or once it is over, on a fast machine).
  await page.keyboard.press('Control+Shift+C');
  await expect(page.locator('.lm-CommandPalette-input')).toBeVisible();
  await page.keyboard.press('Escape');

  await expect(cell(page, 0).locator('.jp-InputArea-prompt')).toHaveText(/^\[r\d+\]:$/, {
    timeout: 180_000
  });
  await expect(panel.locator('.jp-ddp-RankPanel-source')).toHaveText('flood.ipynb, cell 1');
  await expect(panel.locator('.jp-ddp-RankPanel-status')).toHaveAttribute('data-status', 'ok', {
    timeout: 30_000
  });

  // The cell shows the end of rank 0's output, cut, and bounded.
  const output = outputOf(page, 0);
  await expect(output).toContainText(CUT_NOTE);
  await expect(output).toContainText('199999');
  const cellChars = await output.evaluate(node => node.textContent?.length ?? 0);
  expect(cellChars).toBeLessThan(1_000_000);
  // What the cell holds (and the notebook saves) is its last maxCellOutputChars, plus the note.
  await page.keyboard.press('Control+s');
  let saved: { output_type: string; text?: string | string[] }[] = [];
  await expect
    .poll(async () => {
      const res = await request.get(`/api/contents/flood.ipynb?token=${TOKEN}`);
      saved = (await res.json()).content.cells[0].outputs;
      return saved.length;
    })
    .toBeGreaterThan(0);
  const streams = saved
    .filter(o => o.output_type === 'stream')
    .map(o => (Array.isArray(o.text) ? o.text.join('') : (o.text ?? '')));
  expect(streams[0]).toBe(`${CUT_NOTE}\n`);
  expect(streams.join('').length).toBeLessThanOrEqual(MAX_CELL_OUTPUT_CHARS + CUT_NOTE.length + 1);
  expect(streams[streams.length - 1].endsWith('\n199999\n')).toBe(true);

  // The panel has the last line of every rank, and says what it dropped.
  for (const rank of [0, 1, 2, 3]) {
    await tabOf(page, rank).click();
    const pane = paneOf(page, rank);
    await expect(pane).toBeVisible();
    await expect(outputsOf(page, rank)).toContainText('199999');
    await expect(pane.locator('.jp-ddp-RankPane-note')).toContainText(
      'Earlier output was dropped to keep the page responsive'
    );
    const paneChars = await pane.evaluate(node => node.textContent?.length ?? 0);
    expect(paneChars).toBeLessThan(1_100_000);
  }

  // The page still responds: the palette opens, and a local cell runs.
  await page.keyboard.press('Control+Shift+C');
  await expect(page.locator('.lm-CommandPalette-input')).toBeVisible();
  await page.keyboard.press('Escape');
  await runCell(page, 1);
  await expect(outputOf(page, 1)).toHaveText('42', { timeout: 30_000 });
});
