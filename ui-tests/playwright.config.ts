import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { HUB_PASSWORD, HUB_USERS } from './hub/users';

/**
 * UI tests drive Debian's Chromium (never a downloaded browser), on a fixed token and ports,
 * against real servers each serving a scratch folder: `jupyter-ddp lab` (tests/), a plain
 * `jupyter server` with the jupyterlab_ddp package installed in a venv (server-extension/).
 */
export const TOKEN = 'ui-test-token';
export const PORT = Number(process.env.DDP_UI_PORT ?? 18888);
export const SERVER_EXTENSION_PORT = PORT + 1;
/** The JupyterHub's public port (its own API and the proxy's listen on the next two). */
export const HUB_PORT = PORT + 2;
// One scratch folder per port, made afresh by the main process (workers re-read this config).
// JupyterLab's user settings and workspaces live there, never in ~/.jupyter; nothing of
// JupyterLab's own is pre-answered there, so the tests see the bundled lab as a new user does.
const scratch = path.join(os.tmpdir(), `jupyter-ddp-ui-${PORT}`);
export const notebookDir = path.join(scratch, 'notebooks');
const settingsDir = path.join(scratch, 'settings');
/** The plain jupyter server's scratch folder: its notebooks, settings and venv. */
export const serverExtensionDir = path.join(scratch, 'server-extension');
if (process.env.TEST_WORKER_INDEX === undefined) {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(notebookDir, { recursive: true });
  fs.mkdirSync(path.join(serverExtensionDir, 'notebooks'), { recursive: true });
  // DDP cells start a group of CPU ranks on demand, as the scenarios run them.
  writeDdpSettings(settingsDir, 4);
  writeDdpSettings(path.join(serverExtensionDir, 'settings'), 2);
}

function writeDdpSettings(dir: string, cpuRanks: number): void {
  const ddpSettings = path.join(dir, 'jupyterlab-ddp');
  fs.mkdirSync(ddpSettings, { recursive: true });
  fs.writeFileSync(
    path.join(ddpSettings, 'group.jupyterlab-settings'),
    JSON.stringify({ cpuRanks, startWithoutAsking: true })
  );
}

/** Where a Jupyter server's JupyterLab keeps its user settings and workspaces. */
function labEnv(dir: string): Record<string, string> {
  return {
    JUPYTER_TOKEN: TOKEN,
    JUPYTERLAB_SETTINGS_DIR: path.join(dir, 'settings'),
    JUPYTERLAB_WORKSPACES_DIR: path.join(dir, 'workspaces')
  };
}

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  },
  projects: [
    { name: 'jupyter-ddp-lab', testDir: './tests' },
    {
      name: 'jupyter-server',
      testDir: './server-extension',
      use: { baseURL: `http://127.0.0.1:${SERVER_EXTENSION_PORT}` }
    },
    { name: 'jupyterhub', testDir: './hub', use: { baseURL: `http://127.0.0.1:${HUB_PORT}` } }
  ],
  webServer: [
    {
      command: `node bin/jupyter-ddp.js lab --no-browser --port ${PORT} --notebook-dir ${notebookDir}`,
      cwd: path.resolve(__dirname, '..'),
      env: labEnv(scratch),
      url: `http://127.0.0.1:${PORT}/ddp/api/health?token=${TOKEN}`,
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe'
    },
    {
      command: `node ui-tests/servers/jupyter-server.mjs ${scratch} ${SERVER_EXTENSION_PORT} ${path.join(serverExtensionDir, 'notebooks')}`,
      cwd: path.resolve(__dirname, '..'),
      env: labEnv(serverExtensionDir),
      // 503 until the extension's Node server listens
      url: `http://127.0.0.1:${SERVER_EXTENSION_PORT}/ddp/api/health?token=${TOKEN}`,
      timeout: 180_000,
      // Jupyter's own shutdown ends the extension's DDP server and its ranks
      gracefulShutdown: { signal: 'SIGTERM', timeout: 30_000 },
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe'
    },
    {
      command: `node ui-tests/servers/hub.mjs ${scratch} ${HUB_PORT} ${HUB_USERS.join(' ')}`,
      cwd: path.resolve(__dirname, '..'),
      env: { DDP_HUB_PASSWORD: HUB_PASSWORD },
      url: `http://127.0.0.1:${HUB_PORT}/hub/health`,
      timeout: 180_000,
      // the Hub stops the users' servers, which end their DDP servers and ranks
      gracefulShutdown: { signal: 'SIGTERM', timeout: 60_000 },
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe'
    }
  ]
});
