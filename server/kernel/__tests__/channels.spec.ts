import * as zmq from 'zeromq';

import { KernelChannels } from '../channels';
import { allocateConnection, zmqUrl } from '../connection';
import { JupyterMessage, makeMessage } from '../message';
import { serialize, sign } from '../wire';

/** KernelChannels against a fake kernel made of real ZeroMQ sockets. */
describe('kernel channels', () => {
  it('delivers well-signed iopub messages and drops (and logs) badly signed ones', async () => {
    const info = await allocateConnection('fake');
    const key = Buffer.from(info.key);
    const pub = new zmq.Publisher({ linger: 0 });
    await pub.bind(zmqUrl(info, info.iopub_port));
    const shell = new zmq.Router({ linger: 0 });
    await shell.bind(zmqUrl(info, info.shell_port));

    const received: JupyterMessage[] = [];
    const warnings: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(chunk => {
      warnings.push(String(chunk));
      return true;
    });
    const listener = (msg: JupyterMessage) => {
      received.push(msg);
      if (msg.content.text === 'poison') {
        throw new Error('poisoned');
      }
    };
    const channels = new KernelChannels(info, 'session', listener, 'fake kernel');
    try {
      // Publish until the subscription is live (PUB drops messages sent before SUB connects).
      const hello = makeMessage('status', { execution_state: 'idle' }, 'kernel');
      for (let i = 0; i < 100 && received.length === 0; i++) {
        await pub.send(serialize(hello, key));
        await new Promise(r => setTimeout(r, 20));
      }
      expect(received.length).toBeGreaterThan(0);
      received.length = 0;

      const forged = makeMessage('stream', { name: 'stdout', text: 'forged' }, 'attacker');
      await pub.send(serialize(forged, Buffer.from('wrong-key')));
      const genuine = makeMessage('stream', { name: 'stdout', text: 'genuine' }, 'kernel');
      await pub.send(serialize(genuine, key));
      await new Promise(r => setTimeout(r, 200));

      expect(received.map(m => m.content.text)).toEqual(['genuine']);
      expect(warnings.join('')).toContain(
        'fake kernel: dropped a message on iopub: bad message signature'
      );

      // A signed message that is not JSON, and one the listener throws on, are dropped alone.
      received.length = 0;
      const parts = ['{"msg_type": ', '{}', '{}', '{}'].map(p => Buffer.from(p));
      await pub.send([Buffer.from('<IDS|MSG>'), Buffer.from(sign(key, parts)), ...parts]);
      const poison = makeMessage('stream', { name: 'stdout', text: 'poison' }, 'kernel');
      await pub.send(serialize(poison, key));
      await pub.send(serialize(genuine, key));
      await new Promise(r => setTimeout(r, 200));
      expect(received.map(m => m.content.text)).toEqual(['poison', 'genuine']);
      expect(warnings.join('')).toContain('fake kernel: dropped a message on iopub: unreadable');
      expect(warnings.join('')).toContain('fake kernel: stream on iopub failed: Error: poisoned');

      // And what we send is signed with the connection key.
      channels.send('shell', 'kernel_info_request', {});
      const frames = await shell.receive();
      expect(frames[1].toString()).toBe('<IDS|MSG>');
      expect(frames[2].toString()).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      write.mockRestore();
      channels.close();
      pub.close();
      shell.close();
    }
  });
});
