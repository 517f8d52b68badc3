import { createHmac, timingSafeEqual } from 'node:crypto';

import { JupyterMessage } from './message';

/**
 * The Jupyter wire format: `[routing ids…, "<IDS|MSG>", hmac, header, parent_header, metadata,
 * content, buffers…]`, the HMAC-SHA256 (hex) taken over the four JSON frames with the connection
 * key. A message whose signature is missing or wrong is rejected.
 */
const DELIMITER = Buffer.from('<IDS|MSG>');

export class SignatureError extends Error {}

export function sign(key: Buffer, parts: Buffer[]): string {
  if (key.length === 0) {
    return '';
  }
  const hmac = createHmac('sha256', key);
  for (const part of parts) {
    hmac.update(part);
  }
  return hmac.digest('hex');
}

export function serialize(
  msg: JupyterMessage<unknown>,
  key: Buffer,
  routingIds: Buffer[] = []
): Buffer[] {
  const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map(p =>
    Buffer.from(JSON.stringify(p))
  );
  return [...routingIds, DELIMITER, Buffer.from(sign(key, parts)), ...parts, ...msg.buffers];
}

export function deserialize<C = Record<string, unknown>>(
  frames: Buffer[],
  key: Buffer
): JupyterMessage<C> {
  const at = frames.findIndex(f => f.equals(DELIMITER));
  if (at < 0 || frames.length < at + 6) {
    throw new SignatureError('malformed message: no delimiter or missing frames');
  }
  const [signature, ...rest] = frames.slice(at + 1);
  const parts = rest.slice(0, 4);
  const expected = Buffer.from(sign(key, parts));
  if (
    key.length > 0 &&
    (signature.length !== expected.length || !timingSafeEqual(signature, expected))
  ) {
    throw new SignatureError(signature.length === 0 ? 'unsigned message' : 'bad message signature');
  }
  const [header, parent_header, metadata, content] = parts.map(p => JSON.parse(p.toString('utf8')));
  return { header, parent_header, metadata, content, buffers: rest.slice(4), rawContent: parts[3] };
}
