import * as net from 'node:net';

/** `count` distinct loopback ports nobody listens on right now (held open together, then freed). */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const probe = net.createServer();
          probe.once('error', reject);
          probe.listen(0, '127.0.0.1', () => resolve(probe));
        })
    )
  );
  const ports = servers.map(s => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))));
  return ports;
}

export async function freeLoopbackPort(): Promise<number> {
  return (await freeLoopbackPorts(1))[0];
}
