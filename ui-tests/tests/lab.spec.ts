import { expect, test } from '@playwright/test';
import * as path from 'node:path';

import { TOKEN } from '../playwright.config';
import {
  newNotebook,
  openLab,
  runInActiveCell,
  setTheme,
  stopGroup,
  watchConsole
} from './helpers';

const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

// Other files' tests leave a group running on the shared server; these start from none.
test.beforeEach(async ({ request }) => stopGroup(request));

test('JupyterLab loads our extension and runs a local cell', async ({ page }) => {
  const consoleErrors = watchConsole(page);
  await openLab(page);

  // Our plugin is active: its status-bar item reports the (not yet started) group.
  await expect(page.locator('.jp-ddp-StatusItem')).toHaveText('DDP: stopped');

  await newNotebook(page);
  await runInActiveCell(page, 'print(6 * 7)');
  await expect(page.locator('.jp-OutputArea-output').first()).toHaveText('42');

  if (process.env.DDP_SCREENSHOTS) {
    await page.screenshot({ path: path.join(SCREENSHOTS, 'lab-light.png') });
    await setTheme(page, 'JupyterLab Dark');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'lab-dark.png') });
    await setTheme(page, 'JupyterLab Light');
  }
  expect(consoleErrors()).toEqual([]);
});

test('the DDP API is protected like Jupyter itself', async ({ request }) => {
  const anonymous = await request.get('/ddp/api/health');
  expect(anonymous.status()).toBe(401);

  const withToken = await request.get(`/ddp/api/health?token=${TOKEN}`);
  expect(withToken.status()).toBe(200);
  expect(await withToken.json()).toMatchObject({ status: 'ok', group: { state: 'stopped' } });
});
