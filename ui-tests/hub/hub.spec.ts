import { APIRequestContext, Browser, expect, Page, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';

import { cell, newNotebook, outputOf, watchConsole } from '../tests/helpers';
import { HUB_PASSWORD, HubUser } from './users';

/**
 * JupyterHub (Debian's 3.0, configurable-http-proxy, LocalProcessSpawner): each user's server,
 * its DDP server and its ranks run as that Unix user, and a user's /ddp/ API answers that user
 * alone. Each group has 2 CPU ranks, started without asking (the users' settings).
 */
const ALICE: HubUser = 'ddp-ui-alice';
const BOB: HubUser = 'ddp-ui-bob';

// short lines: JupyterLab hides the cell toolbar where a first line runs under it
const WHO_RUNS_IT = [
  'import os, pwd',
  'import torch.distributed as dist',
  'user = pwd.getpwuid(os.geteuid()).pw_name',
  'print(dist.get_rank(), dist.get_world_size(), user)'
].join('\n');

interface Session {
  page: Page;
  /** The user's token, as the Hub gives it to their JupyterLab page. */
  token: string;
  consoleErrors: () => string[];
}

function auth(token: string): Record<string, string> {
  return { Authorization: `token ${token}` };
}

/** Log in through the Hub's form, in a browser context of the user's own; their lab opens. */
async function logIn(browser: Browser, user: HubUser): Promise<Session> {
  const page = await (await browser.newContext()).newPage();
  const consoleErrors = watchConsole(page);
  await page.goto('/hub/login');
  await page.locator('#username_input').fill(user);
  await page.locator('#password_input').fill(HUB_PASSWORD);
  await page.locator('#login_submit').click();
  // the Hub spawns the server, which opens at its default_url
  await page.waitForURL(`**/user/${user}/lab**`, { timeout: 120_000 });
  await page.locator('#jp-main-statusbar').waitFor();
  const token = await page.evaluate(
    () => JSON.parse(document.getElementById('jupyter-config-data')?.textContent ?? '{}').token
  );
  expect(token).toBeTruthy();
  return { page, token, consoleErrors };
}

/** A new notebook whose one cell, marked DDP from its toolbar, says who runs each rank. */
async function runWhoRunsIt(page: Page): Promise<void> {
  await newNotebook(page);
  await cell(page, 0).locator('.cm-content').click();
  await page.keyboard.type(WHO_RUNS_IT);
  await cell(page, 0).locator('.jp-cell-toolbar [data-command="ddp:run-on-ddp"]').click();
}

/** The Unix users the group's rank processes run as. */
async function rankOwners(session: Session, user: HubUser): Promise<string[]> {
  const res = await session.page.request.get(`/user/${user}/ddp/api/groups/default`, {
    headers: auth(session.token)
  });
  expect(res.status()).toBe(200);
  const group = (await res.json()) as { ranks: { pid: number | null }[] };
  return group.ranks.map(({ pid }) =>
    execFileSync('ps', ['-o', 'user:32=', '-p', String(pid)])
      .toString()
      .trim()
  );
}

/** What `user`'s /ddp/ API answers a reader and a writer with these credentials (no redirects). */
async function ddpStatuses(
  request: APIRequestContext,
  user: HubUser,
  headers: Record<string, string>
): Promise<number[]> {
  const api = `/user/${user}/ddp/api`;
  const health = await request.get(`${api}/health`, { headers, maxRedirects: 0 });
  const execute = await request.post(`${api}/groups/default/executions`, {
    headers,
    data: { code: 'pass' },
    maxRedirects: 0
  });
  return [health.status(), execute.status()];
}

test('two Hub users run DDP cells on ranks of their own; neither reaches the other’s /ddp/', async ({
  browser,
  request
}) => {
  test.setTimeout(300_000);
  const alice = await logIn(browser, ALICE);
  await runWhoRunsIt(alice.page);
  await expect(outputOf(alice.page, 0)).toHaveText(`0 2 ${ALICE}`, { timeout: 90_000 });
  await expect(alice.page.locator('.jp-ddp-StatusItem')).toHaveText('DDP: 2 x CPU ready');
  expect(await rankOwners(alice, ALICE)).toEqual([ALICE, ALICE]);

  const bob = await logIn(browser, BOB);
  await runWhoRunsIt(bob.page);
  await expect(outputOf(bob.page, 0)).toHaveText(`0 2 ${BOB}`, { timeout: 90_000 });
  expect(await rankOwners(bob, BOB)).toEqual([BOB, BOB]);

  // Alice's own credentials reach her API, with the same requests...
  for (const status of await ddpStatuses(alice.page.request, ALICE, auth(alice.token))) {
    expect(status).toBeLessThan(300);
  }
  // ...which refuse Bob's session and token (and Alice's at Bob's), and no credentials at all.
  const refusals = [
    ...(await ddpStatuses(bob.page.request, ALICE, auth(bob.token))),
    ...(await ddpStatuses(alice.page.request, BOB, auth(alice.token))),
    ...(await ddpStatuses(request, ALICE, {}))
  ];
  for (const status of refusals) {
    expect([403, 404]).toContain(status);
  }

  // The Hub's own menu items work in the bundled lab: File ▸ Log Out ends at the Hub's login.
  await alice.page.locator('.lm-MenuBar-itemLabel', { hasText: /^File$/ }).click();
  await alice.page.getByRole('menuitem', { name: 'Log Out', exact: true }).click();
  await alice.page.waitForURL('**/hub/login**');
  expect(alice.consoleErrors()).toEqual([]);
  expect(bob.consoleErrors()).toEqual([]);
});
