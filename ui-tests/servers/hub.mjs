// The UI tests' JupyterHub (ui-tests/hub/jupyterhub_config.py): Debian's jupyterhub 3.0 and
// configurable-http-proxy, a DummyAuthenticator, and LocalProcessSpawner with real Unix users, whose
// single-user servers run from a venv with jupyterlab_ddp installed. Needs root (it creates the
// users and spawns as them).
// Usage: node hub.mjs SCRATCH PORT USER... (the password comes from DDP_HUB_PASSWORD)
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { stopWithUs } from './stop-once.mjs';
import { ROOT, venvWithPackage } from './venv.mjs';

const [scratch, port, ...users] = process.argv.slice(2);
if (process.getuid() !== 0) {
  console.error('hub.mjs: run as root: it creates the Unix users and spawns their servers');
  process.exit(1);
}
const hubDir = path.join(scratch, 'hub');
const userDir = path.join(hubDir, 'users');

/** The Unix user `name`, created (with a home of its own) when missing; its uid and gid. */
function unixUser(name) {
  const id = flag => Number(execFileSync('id', [flag, name]).toString());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name], {
        stdio: ['ignore', 'ignore', 'inherit']
      });
    } catch {
      // another test run created it meanwhile
    }
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** The user's own folder of this run: notebooks, JupyterLab settings (2 CPU ranks) and workspaces. */
function userFolder(name) {
  const { uid, gid } = unixUser(name);
  const dir = path.join(userDir, name);
  const ddpSettings = path.join(dir, 'settings', 'jupyterlab-ddp');
  for (const sub of [path.join(dir, 'notebooks'), path.join(dir, 'workspaces'), ddpSettings]) {
    fs.mkdirSync(sub, { recursive: true });
  }
  fs.writeFileSync(
    path.join(ddpSettings, 'group.jupyterlab-settings'),
    JSON.stringify({ cpuRanks: 2, startWithoutAsking: true })
  );
  execFileSync('chown', ['-R', `${uid}:${gid}`, dir]);
  fs.chmodSync(dir, 0o700); // the other users' servers run on this machine too
}

const python = venvWithPackage(scratch, path.join(scratch, 'venv-hub'));
// The users run the venv and walk through the scratch folder to their own; the Hub's state
// (cookie secret, database) stays root's, its files private by the Hub's own modes.
for (const dir of [scratch, hubDir, userDir]) {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
}
execFileSync('chmod', ['-R', 'a+rX', path.join(scratch, 'venv-hub')]);
users.forEach(userFolder);

const hub = spawn(
  'jupyterhub',
  ['-f', path.join(ROOT, 'ui-tests', 'hub', 'jupyterhub_config.py')],
  {
    cwd: hubDir,
    stdio: 'inherit',
    detached: true, // see stopWithUs
    env: {
      ...process.env,
      DDP_HUB_PORT: port,
      DDP_HUB_DIR: hubDir,
      DDP_HUB_USERS: users.join(','),
      DDP_HUB_USER_DIR: userDir,
      DDP_HUB_PYTHON: python,
      // Debian's configurable-http-proxy needs its modules from /usr/share/nodejs, where Debian's
      // own node looks but NodeSource's (a newer Node.js on Debian) does not.
      NODE_PATH: [process.env.NODE_PATH, '/usr/share/nodejs'].filter(Boolean).join(path.delimiter)
    }
  }
);
// The Hub stops the users' servers as it ends (cleanup_servers), and they their DDP servers.
stopWithUs(hub);
