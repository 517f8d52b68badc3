import { spawn } from 'node:child_process';
import * as tls from 'node:tls';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../../package-root';
import { CallbackServer, localAddressToward, RankLine } from '../callback';
import { TESTBED_NODES } from './testbed';

/**
 * The ranks' channel back to the server, across the test bed's nodes (real Slurm, each node its
 * own network namespace and address): srun starts Python tasks that connect with
 * server/py/jupyter_ddp_callback.py.
 */
const PY_DIR = path.join(PACKAGE_ROOT, 'server', 'py');

function srun(
  args: string[],
  code: string,
  env: Record<string, string>
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    'srun',
    [
      ...args,
      '/usr/bin/python3',
      '-c',
      `import sys; sys.path.insert(0, ${JSON.stringify(PY_DIR)})\n${code}`
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', d => (stdout += String(d)));
  child.stderr.on('data', d => (stderr += String(d)));
  return new Promise(resolve => child.on('close', c => resolve({ code: c, stdout, stderr })));
}

const RANK = [
  'import json, jupyter_ddp_callback as cb',
  'ch = cb.connect_or_exit()',
  'print(json.dumps(ch.receive()), flush=True)',
  'ch.send({"done": True})',
  'print(json.dumps(ch.receive()), flush=True)'
].join('\n');

describe("the ranks' channel back to the server", () => {
  let server: CallbackServer;

  beforeAll(async () => {
    server = await CallbackServer.listen(await localAddressToward(TESTBED_NODES[0].address));
  });
  afterAll(() => server.close());

  const envFor = (secrets: string[], where = `${server.address}:${server.port}`) => ({
    JUPYTER_DDP_CALLBACK: where,
    JUPYTER_DDP_CALLBACK_CERT: server.cert,
    JUPYTER_DDP_CALLBACK_SECRETS: secrets.join(',')
  });

  it('listens on the address facing the nodes only, not on every interface', () => {
    expect(server.address).toBe('10.77.0.1');
  });

  it('lets in each rank of 2 nodes x 2 once, from its node, over TLS; a used secret is refused', async () => {
    const secrets = [0, 1, 2, 3].map(task => server.secretFor(task));
    const lines: RankLine[] = [];
    server.onRank(line => {
      lines.push(line);
      line.send({ welcome: line.hello.task });
      line.onMessage(() => line.close());
    });
    const run = await srun(['--nodes=2', '--ntasks-per-node=2'], RANK, envFor(secrets));
    // srun may say it waits for the nodes (other test files use them too): no more
    expect(run.stderr).not.toMatch(/error|Traceback/);
    expect(run.code).toBe(0);
    const seen = lines
      .map(l => [l.hello.task, l.hello.host, l.address])
      .sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(seen).toEqual([
      [0, 'ddpn1', '10.77.0.11'],
      [1, 'ddpn1', '10.77.0.11'],
      [2, 'ddpn2', '10.77.0.12'],
      [3, 'ddpn2', '10.77.0.12']
    ]);
    // each got its own welcome, then saw the channel end
    expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'null',
      'null',
      'null',
      'null',
      '{"welcome": 0}',
      '{"welcome": 1}',
      '{"welcome": 2}',
      '{"welcome": 3}'
    ]);
    await Promise.all(lines.map(l => l.closed));

    const replay = await srun(['--nodes=1', '--ntasks=1'], RANK, envFor(secrets));
    expect(replay.stdout).toContain(
      '"error": "refused: not a rank of this server (wrong or used secret)"'
    );
    expect(lines).toHaveLength(4);
  });

  it('tells the server when a rank goes away', async () => {
    const [secret] = [server.secretFor(0)];
    const connected = new Promise<RankLine>(resolve => server.onRank(resolve));
    const run = srun(
      ['--nodes=1', '--ntasks=1', '--nodelist=ddpn2'],
      'import os, jupyter_ddp_callback as cb\nch = cb.connect_or_exit()\nos.kill(os.getpid(), 9)',
      envFor([secret])
    );
    const line = await connected;
    expect(line.hello.host).toBe('ddpn2');
    await line.closed;
    expect((await run).stderr).toMatch(/task 0: Killed/);
  });

  it('a rank that cannot reach the server fails loudly, naming the address it tried', async () => {
    const run = await srun(
      ['--nodes=1', '--ntasks=1', '--nodelist=ddpn1'],
      RANK,
      envFor(['x'], '10.77.0.1:9')
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /jupyter-ddp: rank 0 on ddpn1 cannot reach the jupyter-ddp server at 10\.77\.0\.1:9: .*refused/
    );
  });

  it('a rank that trusts another certificate does not connect', async () => {
    const other = await CallbackServer.listen(server.address);
    try {
      const run = await srun(['--nodes=1', '--ntasks=1'], RANK, {
        ...envFor([server.secretFor(0)]),
        JUPYTER_DDP_CALLBACK_CERT: other.cert
      });
      expect(run.stderr).toMatch(/cannot reach the jupyter-ddp server .*CERTIFICATE_VERIFY_FAILED/);
    } finally {
      await other.close();
    }
  });

  it('drops a client that sends an endless line or a wrong secret, and still lets a rank in', async () => {
    const client = () =>
      tls.connect({
        host: server.address,
        port: server.port,
        ca: server.cert,
        checkServerIdentity: () => undefined
      });
    const endless = client();
    const dropped = new Promise<void>(resolve => endless.once('close', () => resolve()));
    endless.on('error', () => undefined);
    endless.once('secureConnect', () => endless.write('x'.repeat(1024 * 1024)));
    await dropped;

    const wrong = client();
    let answer = '';
    wrong.on('data', d => (answer += String(d)));
    wrong.once('secureConnect', () =>
      wrong.write(`${JSON.stringify({ secret: 'guessed', task: 0, host: 'x' })}\n`)
    );
    await new Promise(resolve => wrong.once('close', resolve));
    expect(answer).toBe('{"error":"refused: not a rank of this server (wrong or used secret)"}\n');

    const secret = server.secretFor(5);
    const connected = new Promise<RankLine>(resolve => server.onRank(resolve));
    const rank = client();
    rank.once('secureConnect', () =>
      rank.write(`${JSON.stringify({ secret, task: 5, host: 'here' })}\n`)
    );
    expect((await connected).hello).toEqual({ secret, task: 5, host: 'here' });
    rank.destroy();
  });
});
