import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';

import { KernelChannels } from '../../kernel/channels';
import { ConnectionInfo } from '../../kernel/connection';
import { JupyterMessage, parentId } from '../../kernel/message';
import { PACKAGE_ROOT } from '../../package-root';
import { eventually, isRunning } from '../../__tests__/processes';
import { CallbackServer, localAddressToward, RankLine } from '../callback';
import { TESTBED_NODES } from './testbed';

/**
 * server/py/jupyter_ddp_node.py, as srun starts it on the test bed's nodes: it calls back, starts
 * the kernel it is sent, binds it to its node's address, and ends it with the channel.
 */
const NODE = path.join(PACKAGE_ROOT, 'server', 'py', 'jupyter_ddp_node.py');
/** ipykernel, after a line of its own on the process's stdout (ipykernel sends its own to iopub). */
const KERNEL_ARGV = [
  '/bin/sh',
  '-c',
  'echo starting on $(hostname); exec /usr/bin/python3 -m ipykernel_launcher -f "$0"',
  '{connection_file}'
];

interface Started {
  line: RankLine;
  info: ConnectionInfo;
  pid: number;
  messages: Record<string, unknown>[];
}

describe('a rank kernel on a node', () => {
  let server: CallbackServer;
  let srun: ChildProcess | undefined;

  beforeAll(async () => {
    server = await CallbackServer.listen(await localAddressToward(TESTBED_NODES[0].address));
  });
  afterEach(() => srun?.kill('SIGKILL'));
  afterAll(() => server.close());

  /** srun `tasks` node bootstraps, one per node; resolves with each one's started kernel. */
  function startOnNodes(tasks: number): Promise<Started[]> {
    const secrets = Array.from({ length: tasks }, (_, task) => server.secretFor(task));
    const started: Started[] = [];
    return new Promise(resolve => {
      server.onRank(line => {
        const key = randomUUID();
        const messages: Record<string, unknown>[] = [];
        line.onMessage(message => {
          messages.push(message);
          const kernel = message.kernel as (ConnectionInfo & { pid: number }) | undefined;
          if (kernel) {
            const info: ConnectionInfo = {
              ...kernel,
              transport: 'tcp',
              key,
              signature_scheme: 'hmac-sha256',
              kernel_name: 'python3'
            };
            started.push({ line, info, pid: kernel.pid, messages });
            if (started.length === tasks) {
              resolve(started.sort((a, b) => a.line.hello.task - b.line.hello.task));
            }
          }
        });
        line.send({
          kernel: {
            argv: KERNEL_ARGV,
            key,
            env: { RANK: String(line.hello.task) },
            cwd: PACKAGE_ROOT
          }
        });
      });
      srun = spawn('srun', [`--nodes=${tasks}`, '--ntasks-per-node=1', '/usr/bin/python3', NODE], {
        env: {
          ...process.env,
          JUPYTER_DDP_CALLBACK: `${server.address}:${server.port}`,
          JUPYTER_DDP_CALLBACK_CERT: server.cert,
          JUPYTER_DDP_CALLBACK_SECRETS: secrets.join(',')
        },
        stdio: 'ignore'
      });
    });
  }

  /** Run `code` in the kernel; resolves with what it printed. */
  async function execute(info: ConnectionInfo, code: string): Promise<string> {
    let printed = '';
    let done!: () => void;
    const finished = new Promise<void>(resolve => (done = resolve));
    let id = '';
    const channels = new KernelChannels(
      info,
      randomUUID(),
      (msg: JupyterMessage) => {
        if (parentId(msg) !== id) {
          return;
        }
        if (msg.header.msg_type === 'stream') {
          printed += String(msg.content.text);
        }
        if (msg.header.msg_type === 'status' && msg.content.execution_state === 'idle') {
          done();
        }
      },
      'test'
    );
    try {
      // iopub drops what comes before its subscription: ask until one status is seen
      for (let i = 0; i < 50 && !printed; i++) {
        id = channels.send('shell', 'execute_request', {
          code,
          silent: false,
          store_history: false,
          allow_stdin: false
        }).msg_id;
        await Promise.race([finished, new Promise(r => setTimeout(r, 200))]);
      }
      return printed;
    } finally {
      channels.close();
    }
  }

  it("binds to its node's address, signs with the key it was sent, and collectives get the node's interface", async () => {
    const [first, second] = await startOnNodes(2);
    expect([first.info.ip, second.info.ip]).toEqual(TESTBED_NODES.map(n => n.address));
    const said = await execute(
      second.info,
      'import os, socket; print(os.environ["RANK"], os.environ["GLOO_SOCKET_IFNAME"], socket.gethostname(), "JUPYTER_DDP_CALLBACK_SECRETS" in os.environ)'
    );
    expect(said.trim().split('\n').at(-1)).toBe('1 eth0 ddpn2 False');
    // what the process itself prints comes to the server line by line
    expect(
      await eventually(() => second.messages.some(m => m.output === 'starting on ddpn2'), 10_000)
    ).toBe(true);

    // the server closes a channel: that node's kernel ends, and its bootstrap with it
    first.line.close();
    second.line.close();
    expect(await eventually(() => !isRunning(first.pid) && !isRunning(second.pid), 15_000)).toBe(
      true
    );
  });

  it('tells the server how its kernel ended', async () => {
    const [only] = await startOnNodes(1);
    process.kill(only.pid, 'SIGKILL');
    await only.line.closed;
    expect(only.messages.at(-1)).toEqual({ exit: { code: -9 } });
  });
});
