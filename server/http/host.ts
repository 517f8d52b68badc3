import { BlockList, isIP } from 'node:net';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * Jupyter's `check_host` for servers that do not allow remote access: the Host header must name
 * the loopback (`localhost`, `127.x.x.x`, `[::1]`, any port). A page on a rebound DNS name
 * (DNS rebinding) reaches a loopback server under its own name, which this refuses.
 */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  const match = /^(.*?)(:\d+)?$/.exec(hostHeader ?? '');
  let host = match?.[1] ?? '';
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
  }
  const family = isIP(host);
  if (family === 0) {
    return host === 'localhost';
  }
  return loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}
