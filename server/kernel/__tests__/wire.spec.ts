import { createHmac } from 'node:crypto';

import { makeMessage } from '../message';
import { deserialize, serialize, SignatureError } from '../wire';

const key = Buffer.from('a0436f6c-1916-498b-8eb9-e81ab9368e84');

describe('Jupyter wire format', () => {
  const msg = makeMessage('execute_request', { code: 'print(1)', silent: false }, 'session-1');

  it('lays out the frames and signs header, parent, metadata and content in order', () => {
    const frames = serialize(msg, key, [Buffer.from('ident')]);
    expect(frames.map(f => f.toString())).toEqual([
      'ident',
      '<IDS|MSG>',
      expect.stringMatching(/^[0-9a-f]{64}$/),
      JSON.stringify(msg.header),
      '{}',
      '{}',
      '{"code":"print(1)","silent":false}'
    ]);
    const hmac = createHmac('sha256', key);
    frames.slice(3, 7).forEach(f => hmac.update(f));
    expect(frames[2].toString()).toBe(hmac.digest('hex'));
  });

  it('round-trips a message with routing ids and binary buffers', () => {
    const withBuffers = { ...msg, buffers: [Buffer.from([0, 1, 2, 255])] };
    const back = deserialize(
      serialize(withBuffers, key, [Buffer.from('a'), Buffer.from('b')]),
      key
    );
    expect(back.header).toEqual(msg.header);
    expect(back.content).toEqual(msg.content);
    expect(back.buffers).toEqual([Buffer.from([0, 1, 2, 255])]);
    // the content frame as received, for relaying it unchanged
    expect(back.rawContent?.toString()).toBe(JSON.stringify(msg.content));
  });

  it('rejects a message with a tampered content frame', () => {
    const frames = serialize(msg, key);
    frames[5] = Buffer.from('{"code":"import os; os.system(\\"rm -rf /\\")"}');
    expect(() => deserialize(frames, key)).toThrow(new SignatureError('bad message signature'));
  });

  it('rejects a message signed with another key', () => {
    expect(() => deserialize(serialize(msg, Buffer.from('other-key')), key)).toThrow(
      'bad message signature'
    );
  });

  it('rejects an unsigned message when a key is set', () => {
    expect(() => deserialize(serialize(msg, Buffer.alloc(0)), key)).toThrow('unsigned message');
  });

  it('rejects frames without the delimiter', () => {
    expect(() => deserialize([Buffer.from('x'), Buffer.from('y')], key)).toThrow(SignatureError);
  });

  it('accepts empty signatures only when the key is empty, as Jupyter does', () => {
    const empty = Buffer.alloc(0);
    expect(deserialize(serialize(msg, empty), empty).content).toEqual(msg.content);
  });
});
