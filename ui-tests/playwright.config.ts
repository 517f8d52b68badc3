import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * UI tests drive Debian's Chromium (never a downloaded browser) against a real `jupyter-ddp lab`
 * serving a scratch folder, on a fixed token and port.
 */
export const TOKEN = 'ui-test-token';
export const PORT = Number(process.env.DDP_UI_PORT ?? 18888);
// One scratch folder per port, made afresh by the main process (workers re-read this config).
// JupyterLab's user settings and workspaces live there, never in ~/.jupyter; nothing of
// JupyterLab's own is pre-answered there, so the tests see the bundled lab as a new user does.
const scratch = path.join(os.tmpdir(), `jupyter-ddp-ui-${PORT}`);
export const notebookDir = path.join(scratch, 'notebooks');
const settingsDir = path.join(scratch, 'settings');
if (process.env.TEST_WORKER_INDEX === undefined) {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(notebookDir, { recursive: true });
  // DDP cells start a group of 4 CPU ranks on demand, as the scenarios run them.
  const ddpSettings = path.join(settingsDir, 'jupyterlab-ddp');
  fs.mkdirSync(ddpSettings, { recursive: true });
  fs.writeFileSync(
    path.join(ddpSettings, 'group.jupyterlab-settings'),
    JSON.stringify({ cpuRanks: 4, startWithoutAsking: true })
  );
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
  webServer: {
    command: `node bin/jupyter-ddp.js lab --no-browser --port ${PORT} --notebook-dir ${notebookDir}`,
    cwd: path.resolve(__dirname, '..'),
    env: {
      JUPYTER_TOKEN: TOKEN,
      JUPYTERLAB_SETTINGS_DIR: settingsDir,
      JUPYTERLAB_WORKSPACES_DIR: path.join(scratch, 'workspaces')
    },
    url: `http://127.0.0.1:${PORT}/ddp/api/health?token=${TOKEN}`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe'
  }
});
