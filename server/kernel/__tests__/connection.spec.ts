import * as fs from 'node:fs';
import * as path from 'node:path';

import { allocateConnection, createRuntimeDir, writeConnectionFile } from '../connection';

describe('kernel connection files', () => {
  it('are private, bind loopback only, and carry a fresh random key', async () => {
    const dir = createRuntimeDir();
    try {
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      const a = await allocateConnection('python3');
      const b = await allocateConnection('python3');
      const file = writeConnectionFile(dir, 'rank 0', a);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(path.dirname(file)).toBe(dir);
      expect(path.basename(file)).toMatch(/^kernel-rank-0-[0-9a-f]{8}\.json$/);
      // the next kernel of the same label gets a file of its own
      expect(writeConnectionFile(dir, 'rank 0', b)).not.toBe(file);
      expect(a.ip).toBe('127.0.0.1');
      expect(a.signature_scheme).toBe('hmac-sha256');
      expect(a.key).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.key).not.toBe(b.key);
      const ports = [a.shell_port, a.iopub_port, a.stdin_port, a.control_port, a.hb_port];
      expect(new Set(ports).size).toBe(5);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
