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

// The bundled lab runs on jupyter_server 1.23, which has neither a news source nor an event bus
// of its own; JupyterLab asks about the one and keeps retrying the other unless lab/ sees to both.
test('the bundled lab neither asks about news nor fails its events subscription', async ({
  page
}) => {
  const eventErrors: string[] = [];
  page.on('console', msg => {
    if (msg.type() === 'error' && msg.text().includes('/api/events')) {
      eventErrors.push(msg.text());
    }
  });
  page.on('requestfailed', req => {
    if (req.url().includes('/api/events')) {
      eventErrors.push(`${req.url()}: ${req.failure()?.errorText}`);
    }
  });
  page.on('response', res => {
    if (res.url().includes('/api/events') && res.status() >= 400) {
      eventErrors.push(`${res.url()}: ${res.status()}`);
    }
  });
  // JupyterLab checks for updates only once the news question is settled, where it would
  // otherwise have asked it: the check's request shows the question was not asked.
  const updateCheck = page.waitForResponse(res => res.url().includes('/lab/api/update'));
  const subscription = page.waitForEvent('websocket', ws =>
    ws.url().includes('/api/events/subscribe')
  );
  // A workspace of its own, so that the launcher shows and not what another test left open.
  await openLab(page, '/lab/workspaces/new-user');
  const events = await subscription;
  expect((await updateCheck).status()).toBe(200);

  // A few actions of a new user, long enough for a refused subscription to be retried.
  await newNotebook(page);
  await runInActiveCell(page, 'print(6 * 7)');
  await expect(page.locator('.jp-OutputArea-output').first()).toHaveText('42');

  await expect(page.getByText(/official Jupyter news/)).toHaveCount(0);
  expect(eventErrors).toEqual([]);
  expect(events.isClosed()).toBe(false);
});

test('the DDP API is protected like Jupyter itself', async ({ request }) => {
  const anonymous = await request.get('/ddp/api/health');
  expect(anonymous.status()).toBe(401);

  const withToken = await request.get(`/ddp/api/health?token=${TOKEN}`);
  expect(withToken.status()).toBe(200);
  expect(await withToken.json()).toMatchObject({ status: 'ok', group: { state: 'stopped' } });
});
