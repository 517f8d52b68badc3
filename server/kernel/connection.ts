import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { freeLoopbackPorts } from '../net';

/** A kernel's connection file contents (jupyter_client's format). */
export interface ConnectionInfo {
  ip: string;
  transport: 'tcp';
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
  kernel_name: string;
}

/** Loopback ports and a fresh random key. */
export async function allocateConnection(kernelName: string): Promise<ConnectionInfo> {
  const [shell, iopub, stdin, control, hb] = await freeLoopbackPorts(5);
  return {
    ip: '127.0.0.1',
    transport: 'tcp',
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    control_port: control,
    hb_port: hb,
    key: randomUUID(),
    signature_scheme: 'hmac-sha256',
    kernel_name: kernelName
  };
}

/** A folder only we can enter (0700), for connection files and transfer files. */
export function createRuntimeDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'jupyter-ddp-'));
}

/**
 * Write the connection file readable by us alone (0600), under a name no other kernel has: a
 * kernel that exits removes its file, which must not be the file of one started after it with the
 * same label (a rank of the next run). Returns its path.
 */
export function writeConnectionFile(dir: string, label: string, info: ConnectionInfo): string {
  const slug = label.replace(/[^\w.-]+/g, '-');
  const file = path.join(dir, `kernel-${slug}-${randomUUID().slice(0, 8)}.json`);
  fs.writeFileSync(file, JSON.stringify(info, null, 2), { mode: 0o600, flag: 'wx' });
  return file;
}

export function zmqUrl(info: ConnectionInfo, port: number): string {
  return `${info.transport}://${info.ip}:${port}`;
}
