import * as fs from 'node:fs';
import * as net from 'node:net';

import * as connection from '../connection';
import { Kernel } from '../kernel';
import { getKernelSpec } from '../kernelspec';

/** A real ipykernel, started through the guard. */
describe('kernel start', () => {
  it('starts again on new ports when another process took one before the kernel bound it', async () => {
    const runtimeDir = connection.createRuntimeDir();
    const allocate = connection.allocateConnection;
    const squatter = net.createServer();
    // The race, made certain: a port is taken between our choice and the kernel's bind. The iopub
    // port is the worst case: ipykernel, with its shell and control sockets bound by then, prints
    // the error and hangs instead of exiting.
    const spy = jest.spyOn(connection, 'allocateConnection').mockImplementationOnce(async name => {
      const info = await allocate(name);
      await new Promise<void>(resolve => squatter.listen(info.iopub_port, '127.0.0.1', resolve));
      return info;
    });
    const warnings: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(chunk => {
      warnings.push(String(chunk));
      return true;
    });
    let kernel: Kernel | undefined;
    try {
      kernel = await Kernel.start({
        spec: await getKernelSpec('python3'),
        label: 'taken',
        runtimeDir,
        cwd: runtimeDir,
        env: {},
        python: '/usr/bin/python3',
        onIopub: () => undefined
      });
      expect(spy).toHaveBeenCalledTimes(2);
      expect(warnings.join('')).toContain(
        'taken: one of its ports was taken before it could bind it; trying others'
      );
      expect(await kernel.evaluate('x = 6 * 7', 'str(x)')).toBe('42');
    } finally {
      write.mockRestore();
      spy.mockRestore();
      await kernel?.kill();
      squatter.close();
      fs.rmSync(runtimeDir, { recursive: true, force: true });
    }
  });
});
