import { APIRequestContext, ConsoleMessage, Locator, Page } from '@playwright/test';

import { TOKEN } from '../playwright.config';

/**
 * Console errors a page may show that are not ours: Debian's jupyter_server 1.23 has no `/api/me`
 * and no jupyter-lsp, which JupyterLab 4 asks for, and Chromium reports each 404. (Its missing
 * `/api/events` is the bundled lab's to serve: lab/app.py does.)
 */
const KNOWN_SERVER_GAPS = [/\/api\/me\b/, /\/lsp\/status/, /404 \(Not Found\)/];

/** Collects console errors, to assert at the end of a test that none came from us. */
export function watchConsole(page: Page): () => string[] {
  const errors: string[] = [];
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() === 'error') {
      errors.push(`${msg.text()} @ ${msg.location().url}`);
    }
  });
  page.on('pageerror', err => errors.push(`pageerror: ${err.message}`));
  return () => errors.filter(text => !KNOWN_SERVER_GAPS.some(re => re.test(text)));
}

/** Open JupyterLab with the token and wait until it has rendered. */
export async function openLab(page: Page, path = '/lab'): Promise<void> {
  await page.goto(`${path}?token=${TOKEN}`);
  await page.locator('#jp-main-statusbar').waitFor();
}

/**
 * Create a notebook from the launcher and wait until its kernel is connected and idle: keys
 * pressed before that are silently dropped. The status bar says "| Idle" only once connected.
 */
export async function newNotebook(page: Page): Promise<void> {
  await page.locator('.jp-LauncherCard[data-category="Notebook"]').first().click();
  await page
    .locator('#jp-main-statusbar')
    .getByText(/\| Idle$/)
    .waitFor({ timeout: 60_000 });
}

/** Type code into the active cell and run it with Shift+Enter. */
export async function runInActiveCell(page: Page, code: string): Promise<void> {
  const editor = page.locator('.jp-Notebook .jp-Cell.jp-mod-active .cm-content');
  await editor.click();
  await page.keyboard.type(code);
  await page.keyboard.press('Shift+Enter');
}

/** Switch the theme from the Settings menu and wait until it is applied. */
export async function setTheme(
  page: Page,
  theme: 'JupyterLab Light' | 'JupyterLab Dark'
): Promise<void> {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Settings$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Theme$/ }).hover();
  await page.locator('.lm-Menu-itemLabel', { hasText: new RegExp(`^${theme}$`) }).click();
  const light = theme === 'JupyterLab Light' ? 'true' : 'false';
  await page.locator(`body[data-jp-theme-light="${light}"]`).waitFor({ state: 'attached' });
  // Let the theme's stylesheet finish swapping before anything looks at the page.
  await page.waitForTimeout(500);
}

type Mode = 'local' | 'ddp' | 'everywhere' | null;

/** Write a notebook of code cells (with optional DDP marks) into the served folder. */
export async function writeNotebook(
  request: APIRequestContext,
  name: string,
  cells: [Mode, string][],
  auto = false
): Promise<void> {
  const content = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' },
      ...(auto ? { ddp: { auto: true } } : {})
    },
    cells: cells.map(([mode, source], i) => ({
      id: `c${i}`,
      cell_type: 'code',
      metadata: mode ? { ddp: { mode } } : {},
      source,
      outputs: [],
      execution_count: null
    }))
  };
  const res = await request.put(`/api/contents/${name}?token=${TOKEN}`, {
    data: { type: 'notebook', format: 'json', content }
  });
  if (!res.ok()) {
    throw new Error(`cannot write ${name}: ${res.status()}`);
  }
}

/**
 * Open a notebook of the served folder, alone in a fresh workspace (so the status bar speaks of its
 * kernel, not a restored one's), and wait until its kernel is connected and idle.
 */
export async function openNotebook(page: Page, name: string): Promise<void> {
  const workspace = name.replace(/\W/g, '-');
  await page.goto(`/lab/workspaces/${workspace}/tree/${name}?reset&token=${TOKEN}`);
  await page
    .locator('#jp-main-statusbar')
    .getByText(/\| Idle$/)
    .waitFor({ timeout: 60_000 });
}

/** The n-th cell (0-based) of the open notebook. */
export function cell(page: Page, n: number): Locator {
  return page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').nth(n);
}

/** Text of a cell's outputs. */
export function outputOf(page: Page, n: number): Locator {
  return cell(page, n).locator('.jp-OutputArea');
}

/** Run a command through the command palette, by its label. */
export async function runFromPalette(page: Page, label: string): Promise<void> {
  await page.keyboard.press('Control+Shift+C');
  const input = page.locator('.lm-CommandPalette-input');
  await input.fill(label);
  const exact = new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  await page
    .locator('.lm-CommandPalette-item', {
      has: page.locator('.lm-CommandPalette-itemLabel', { hasText: exact })
    })
    .first()
    .click();
}

/** Run ▸ Run All Cells from the menu bar. */
export async function runAll(page: Page): Promise<void> {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
}

/** Stop the DDP group if one runs, so a test starts from a server with no ranks. */
export async function stopGroup(request: APIRequestContext): Promise<void> {
  const res = await request.delete(`/ddp/api/groups/default?token=${TOKEN}`);
  if (!res.ok() && res.status() !== 404) {
    throw new Error(`cannot stop the group: ${res.status()} ${await res.text()}`);
  }
}
