import { expect, Page, test } from '@playwright/test';

import { TOKEN } from '../playwright.config';
import {
  cell,
  openNotebook,
  outputOf,
  runFromPalette,
  stopGroup,
  watchConsole,
  writeNotebook
} from './helpers';

/**
 * Ddip's user guide (the walkthrough of its notebook), cell by cell, unchanged, in JupyterLab on 4
 * real CPU ranks: its magics push, pull and run everywhere as they did under Ddip.
 */
test.describe.configure({ mode: 'serial' });

const WALKTHROUGH = [
  '%load_ext Ddip\n%makedip -r -g all --verbose False',
  '%%dip everywhere\nimport os # For convenience',
  'foobar = { 1 : "foo", 2 : "bar" }\ndef var_printer(f): print(f"Process [{os.getpid()}] variable is :{f}")\n\nvar_printer(foobar)',
  '%%dip\nfoobar, var_printer',
  '%dipush?',
  '%dipush foobar var_printer',
  '%%dip --see all\n# Use `--see all` to see the outputs from all DDP processes\nvar_printer(foobar)',
  '%%dip --see all\nremote_pid = os.getpid()\nprint(f"Process [{os.getpid()}]: remote_pid is {remote_pid}")',
  'remote_pid',
  '%dipull remote_pid\nprint(f"Process [{os.getpid()}]: remote_pid is {remote_pid}")',
  '%dipull -r 1 remote_pid\nprint(f"Process [{os.getpid()}]: remote_pid is {remote_pid}")',
  '%%dip everywhere --see all\nx = [ f"Different pid: {os.getpid()}", 2, ["a", "list"], {"and": "a dict"}]\nx'
];

/** Run cell n with Shift+Enter and wait until it has run (its prompt shows a count: [3], [r3]). */
async function run(page: Page, n: number): Promise<void> {
  await shiftEnter(page, n);
  await expect(cell(page, n).locator('.jp-InputPrompt')).toHaveText(/\[r?\d+\]:/, {
    timeout: 60_000
  });
}

async function shiftEnter(page: Page, n: number): Promise<void> {
  await cell(page, n).locator('.jp-InputArea-editor').click();
  await page.keyboard.press('Shift+Enter');
}

/** The pids in "Process [PID]" lines of a cell's output, in order. */
async function pidsIn(page: Page, n: number): Promise<string[]> {
  const text = (await outputOf(page, n).textContent()) ?? '';
  return [...text.matchAll(/Process \[(\d+)\]/g)].map(m => m[1]);
}

test('the Ddip walkthrough runs cell by cell with the same kinds of results', async ({
  page,
  request
}) => {
  const consoleErrors = watchConsole(page);
  await stopGroup(request);
  await writeNotebook(
    request,
    'ddip-walkthrough.ipynb',
    WALKTHROUGH.map(source => [null, source])
  );
  await openNotebook(page, 'ddip-walkthrough.ipynb');

  // %makedip starts the group: CPU ranks here, as this machine has no GPU.
  // A cell of magics only: nothing runs in the kernel, so it gets no execution count.
  await shiftEnter(page, 0);
  await expect(outputOf(page, 0)).toContainText('DDP: 4 x CPU ready (gloo)', { timeout: 60_000 });
  await run(page, 1);

  await run(page, 2);
  const [localPid] = await pidsIn(page, 2);
  await expect(outputOf(page, 2)).toHaveText(
    `Process [${localPid}] variable is :{1: 'foo', 2: 'bar'}`
  );

  // Not pushed yet: the ranks do not know these names, and the cell says which rank failed.
  await run(page, 3);
  await expect(outputOf(page, 3)).toContainText("NameError: name 'foobar' is not defined");
  await expect(outputOf(page, 3)).toContainText('[rank 1]');

  await run(page, 4);
  await expect(outputOf(page, 4)).toContainText('%dipush');
  await run(page, 5);

  await run(page, 6);
  await expect(outputOf(page, 6)).toContainText('[rank 3] Process [');
  const rankPids = await pidsIn(page, 6);
  expect(new Set(rankPids).size).toBe(4);
  expect(rankPids).not.toContain(localPid);
  await expect(outputOf(page, 6)).not.toContainText('NameError');

  await run(page, 7);
  const remotePids = await pidsIn(page, 7);
  expect(remotePids).toEqual(rankPids);

  await run(page, 8);
  await expect(outputOf(page, 8)).toContainText("NameError: name 'remote_pid' is not defined");

  await run(page, 9);
  await expect(outputOf(page, 9)).toHaveText(
    `Process [${localPid}]: remote_pid is ${remotePids[0]}`
  );
  await run(page, 10);
  await expect(outputOf(page, 10)).toHaveText(
    `Process [${localPid}]: remote_pid is ${remotePids[1]}`
  );

  await run(page, 11);
  const everywhere = outputOf(page, 11);
  await expect(everywhere).toContainText(
    `['Different pid: ${localPid}', 2, ['a', 'list'], {'and': 'a dict'}]`
  );
  for (const [rank, pid] of remotePids.entries()) {
    await expect(everywhere).toContainText(
      `[rank ${rank}] ['Different pid: ${pid}', 2, ['a', 'list'], {'and': 'a dict'}]`
    );
  }
  expect(consoleErrors()).toEqual([]);
});

test('a Ddip magic with a bad flag runs nothing and says what is wrong', async ({
  page,
  request
}) => {
  await writeNotebook(request, 'ddip-errors.ipynb', [
    [null, 'ran = True\n%dipull --bogus x'],
    [null, 'print("ran" in globals())']
  ]);
  await openNotebook(page, 'ddip-errors.ipynb');
  await shiftEnter(page, 0);
  await expect(outputOf(page, 0)).toContainText('UsageError');
  await expect(outputOf(page, 0)).toContainText('--bogus');
  await run(page, 1);
  await expect(outputOf(page, 1)).toHaveText('False');
});

test("a cell whose ddp.show is bad runs nothing, with jupyter-ddp run's usage error", async ({
  page,
  request
}) => {
  const content = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: [
      {
        id: 'c0',
        cell_type: 'code',
        metadata: { ddp: { mode: 'ddp', show: 'everyone' } },
        source: 'print("ran")',
        outputs: [],
        execution_count: null
      }
    ]
  };
  const res = await request.put(`/api/contents/ddip-bad-show.ipynb?token=${TOKEN}`, {
    data: { type: 'notebook', format: 'json', content }
  });
  expect(res.ok()).toBe(true);
  await openNotebook(page, 'ddip-bad-show.ipynb');
  await shiftEnter(page, 0);
  // The message server/runner/__tests__/run.spec.ts expects of `jupyter-ddp run`.
  await expect(outputOf(page, 0)).toHaveText(
    'UsageError: cell metadata ddp.show must be "all", "rank0" or a list of ranks such as ' +
      '[0, 2], not "everyone"'
  );
});

test('a bad GPU list is named, in a cell and in the group dialog, and starts nothing', async ({
  page,
  request
}) => {
  await stopGroup(request);
  await writeNotebook(request, 'ddip-gpus.ipynb', [[null, '%makedip -g a,b']]);
  await openNotebook(page, 'ddip-gpus.ipynb');
  await shiftEnter(page, 0);
  await expect(outputOf(page, 0)).toContainText(
    "UsageError: %makedip: invalid -g value a,b: 'a' is not a GPU index"
  );

  await runFromPalette(page, 'DDP Group…');
  await page.locator('.jp-Dialog input[name="gpus"]').fill('a,b');
  await expect(page.locator('.jp-ddp-GroupControls-problem')).toHaveText(
    "Invalid GPU list 'a,b': 'a' is not a GPU index (expected 'all' or non-negative integers such as '0,2')"
  );
  await page.locator('.jp-Dialog .jp-mod-accept', { hasText: 'Start' }).click();
  const refusal = page.locator('.jp-Dialog', { hasText: 'Could not start the DDP group' });
  await expect(refusal).toContainText("Invalid GPU list 'a,b': 'a' is not a GPU index");
  await refusal.locator('.jp-mod-reject').click();
  const group = await request.get(`/ddp/api/groups/default?token=${TOKEN}`);
  expect((await group.json()).state).toBe('stopped');
});

test('push from the rank output panel and pull from the palette', async ({ page, request }) => {
  await writeNotebook(request, 'transfer.ipynb', [
    ['local', 'pushed_value = 41'],
    ['ddp', 'import os\nprint(pushed_value + 1)\nrank_value = int(os.environ["RANK"]) * 10'],
    ['local', 'print(rank_value)']
  ]);
  await openNotebook(page, 'transfer.ipynb');
  await run(page, 0);

  await runFromPalette(page, 'DDP Rank Outputs');
  await page.locator('.jp-ddp-RankPanel-action', { hasText: 'Push…' }).click();
  await page.locator('.jp-Dialog input').fill('pushed_value');
  await page.locator('.jp-Dialog .jp-mod-accept').click();
  await expect(
    page.locator('.jp-toast-message', { hasText: 'Pushed: pushed_value' })
  ).toBeVisible();

  await run(page, 1);
  await expect(outputOf(page, 1)).toHaveText('42');

  await runFromPalette(page, 'Pull Variables from a DDP Rank…');
  await page.locator('.jp-Dialog input').fill('-r 1 rank_value');
  await page.locator('.jp-Dialog .jp-mod-accept').click();
  await expect(
    page.locator('.jp-toast-message', { hasText: 'Pulled: -r 1 rank_value' })
  ).toBeVisible();
  await run(page, 2);
  await expect(outputOf(page, 2)).toHaveText('10');
});
