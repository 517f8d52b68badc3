import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';

import { ExecutionRecord, GroupInfo, ServerMessage } from '../../../src/protocol/api';
import { startTestDdpServer, TestDdpServer } from '../../__tests__/ddp-server';
import { TestJupyter } from '../../__tests__/jupyter-server';
import { writeKernelSpec } from '../../group/__tests__/recorder';

/** The group REST API and its WebSocket events, through the real server, with real CPU ranks. */
/** Whether a message says execution `id` has finished. */
const isDone = (id: string) => (m: ServerMessage) =>
  m.type === 'execution' && m.execution.id === id && m.execution.status !== 'running';

describe('/ddp/api/groups', () => {
  let server: TestDdpServer;
  let jupyter: TestJupyter;
  let base: string;
  let host: string;

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${base}/ddp/api/groups${path}`, {
      ...init,
      headers: {
        Authorization: `token ${jupyter.token}`,
        'Content-Type': 'application/json',
        ...init.headers
      }
    });
  const post = (path: string, body: unknown) =>
    api(path, { method: 'POST', body: JSON.stringify(body) });

  beforeAll(async () => {
    server = await startTestDdpServer('0.0.0');
    ({ jupyter, base, host } = server);
  });

  afterAll(() => server.stop());

  it.each([
    [{ ranks: 'two' }, 'ranks', 'field "ranks" must be integer'],
    [{ ranks: 0 }, 'ranks', 'field "ranks" must be >= 1'],
    [
      { gpus: 'some' },
      'gpus',
      'field "gpus" must be "all" or a list of distinct GPU indices such as [0, 2]'
    ],
    [
      { gpus: [1, 1] },
      'gpus',
      'field "gpus" must be "all" or a list of distinct GPU indices such as [0, 2]'
    ],
    [{ rank: 2 }, 'rank', 'unknown field "rank"'],
    [{ timeoutSeconds: -5 }, 'timeoutSeconds', 'field "timeoutSeconds" must be >= 1'],
    [{ kernelName: 'nope' }, 'kernelName', "No such kernel: 'nope'"],
    [{ cwd: '../..' }, 'cwd', 'cwd "../.." is not a folder inside the served root'],
    [{ gpus: [0] }, 'gpus', 'this machine has no GPU']
  ])(
    'refuses start body %j with a 400 naming %s, changing nothing',
    async (body, field, message) => {
      const res = await post('/default', body);
      expect(res.status).toBe(400);
      const error = await res.json();
      expect(error.field).toBe(field);
      expect(error.error).toContain(message);
      expect(((await (await api('/default')).json()) as GroupInfo).state).toBe('stopped');
    }
  );

  it.each([
    [{ ranks: 'two' }, 'ranks', 'field "ranks" must be integer'],
    [{ rank: 2 }, 'rank', 'unknown field "rank"'],
    [{ kernelName: 'nope' }, 'kernelName', "No such kernel: 'nope'"],
    [{ cwd: '../..' }, 'cwd', 'cwd "../.." is not a folder inside the served root'],
    [{ spares: false }, 'spares', '"spares": false keeps no spares: there is nothing to warm']
  ])('refuses warm body %j with a 400 naming %s, warming nothing', async (body, field, message) => {
    const res = await post('/default/warm', body);
    expect(res.status).toBe(400);
    const error = await res.json();
    expect(error.field).toBe(field);
    expect(error.error).toContain(message);
    expect(await (await api('/default/warm')).json()).toMatchObject({ size: 0, spares: 0 });
  });

  it('answers malformed JSON with a 400', async () => {
    const res = await api('/default', { method: 'POST', body: '{"ranks": 2' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/^Malformed request body/);
  });

  it('answers a start overtaken by a stop with 409, and one whose rank died with 502 naming it', async () => {
    const starting = post('/default', { ranks: 2, spares: false, initProcessGroup: false });
    await new Promise(r => setTimeout(r, 300));
    expect((await api('/default', { method: 'DELETE' })).status).toBe(200);
    const overtaken = await starting;
    expect(overtaken.status).toBe(409);
    expect((await overtaken.json()).error).toMatch(/was stopped or restarted while it started/);

    const jupyterPath = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-dies-'));
    const original = process.env.JUPYTER_PATH;
    writeKernelSpec(jupyterPath, 'dies-at-start', {
      'sitecustomize.py':
        'import os\nif os.environ.get("RANK") == "1":\n    print("no room here")\n    os._exit(3)\n'
    });
    process.env.JUPYTER_PATH = jupyterPath;
    try {
      const died = await post('/default', { ranks: 2, spares: false, kernelName: 'dies-at-start' });
      expect(died.status).toBe(502);
      expect((await died.json()).error).toBe(
        'rank 1 exited (exit code 3) while starting; a restart will retry; its last output:\nno room here'
      );
    } finally {
      process.env.JUPYTER_PATH = original;
      fs.rmSync(jupyterPath, { recursive: true, force: true });
    }
    expect(((await (await api('/default')).json()) as GroupInfo).state).toBe('failed');
    expect((await api('/default', { method: 'DELETE' })).status).toBe(200);
  });

  it('answers unknown groups, executions and ranks with 404', async () => {
    const noGroup = await api('/nope');
    expect(noGroup.status).toBe(404);
    expect((await noGroup.json()).error).toBe('no group named "nope" (groups: default)');
    expect((await api('/default/executions/123')).status).toBe(404);
  });

  it('starts a group, streams every rank’s output over the WebSocket, and keeps it for catch-up', async () => {
    const ws = new WebSocket(`ws://${host}/ddp/api/ws?token=${jupyter.token}`);
    const messages: ServerMessage[] = [];
    ws.on('message', data => messages.push(JSON.parse(data.toString())));
    // and a client, like the JupyterLab extension, that does not want the ranks' statuses
    const quiet = new WebSocket(`ws://${host}/ddp/api/ws?omit=status&token=${jupyter.token}`);
    const quietMessages: ServerMessage[] = [];
    quiet.on('message', data => quietMessages.push(JSON.parse(data.toString())));
    await Promise.all([ws, quiet].map(s => new Promise(resolve => s.once('open', resolve))));

    const started = await post('/default', { ranks: 2 });
    expect(started.status).toBe(200);
    expect(await started.json()).toMatchObject({ state: 'ready', worldSize: 2, backend: 'gloo' });
    expect(await post('/default', {}).then(r => r.status)).toBe(409);
    expect(await post('/default/warm', { ranks: 2 }).then(r => r.status)).toBe(409);

    const res = await post('/default/executions', {
      code: 'import os\nprint("hello from", os.environ["RANK"])'
    });
    expect(res.status).toBe(202);
    const { id } = await res.json();
    const done = () => messages.some(isDone(id));
    for (let i = 0; i < 100 && !done(); i++) {
      await new Promise(r => setTimeout(r, 100));
    }
    const outputs = messages.flatMap(m =>
      m.type === 'output' && m.event.execution === id && m.event.msgType === 'stream'
        ? [m.event]
        : []
    );
    expect(outputs.map(o => [o.rank, o.content.text]).sort()).toEqual([
      [0, 'hello from 0\n'],
      [1, 'hello from 1\n']
    ]);
    expect(messages.map(m => m.type)).toEqual(
      expect.arrayContaining(['hello', 'group', 'execution', 'output'])
    );
    const msgTypes = (seen: ServerMessage[]) =>
      new Set(seen.flatMap(m => (m.type === 'output' ? [m.event.msgType] : [])));
    expect(msgTypes(messages)).toEqual(new Set(['status', 'stream']));
    expect(msgTypes(quietMessages)).toEqual(new Set(['stream']));
    // started, done (and between them a rank's end only if the other rank lagged behind it)
    const statuses = quietMessages.flatMap(m =>
      m.type === 'execution' ? [m.execution.status] : []
    );
    expect(statuses[0]).toBe('running');
    expect(statuses.at(-1)).toBe('ok');
    expect(statuses.slice(1, -1).every(s => s === 'running')).toBe(true);
    // Without the statuses the quiet client sees no gap: outputs are numbered 0, 1, … and the
    // summary's nextSeq says that nothing is missing.
    const quietSeqs = quietMessages.flatMap(m =>
      m.type === 'output' && m.event.execution === id ? [m.event.seq] : []
    );
    expect(quietSeqs).toEqual(quietSeqs.map((_, i) => i));
    const last = quietMessages.filter(m => m.type === 'execution').at(-1);
    expect(last?.type === 'execution' && last.execution.nextSeq).toBe(quietSeqs.length);

    const record = (await (
      await api(`/default/executions/${id}?since=1`)
    ).json()) as ExecutionRecord;
    expect(record.execution.status).toBe('ok');
    const streams = record.outputs.filter(o => o.msgType === 'stream');
    expect(record.outputs.every(o => o.seq >= 1)).toBe(true);
    expect(streams.length).toBeGreaterThan(0);

    // The same over the WebSocket: the reply, to the sender alone, before any output.
    const replies = () => quietMessages.filter(m => m.type === 'executeReply');
    const sendAndWait = async (text: string) => {
      const before = replies().length;
      quiet.send(text);
      for (let i = 0; i < 100 && replies().length === before; i++) {
        await new Promise(r => setTimeout(r, 50));
      }
      return replies().at(-1);
    };
    const execute = (id: number, group: string, request: unknown) =>
      sendAndWait(JSON.stringify({ type: 'execute', id, group, request }));
    const reply = await execute(7, 'default', { code: 'print("over the socket")', ranks: [1] });
    expect(reply).toMatchObject({
      type: 'executeReply',
      id: 7,
      execution: { ranks: [1], status: 'running' }
    });
    const wsId = (reply as { execution: { id: string } }).execution.id;
    for (let i = 0; i < 100 && !quietMessages.some(isDone(wsId)); i++) {
      await new Promise(r => setTimeout(r, 100));
    }
    const wsOutputs = quietMessages.flatMap(m =>
      m.type === 'output' && m.event.execution === wsId ? [m.event] : []
    );
    expect(wsOutputs.map(o => [o.rank, o.content.text])).toEqual([[1, 'over the socket\n']]);
    expect(quietMessages.indexOf(reply!)).toBeLessThan(
      quietMessages.findIndex(m => m.type === 'output' && m.event.execution === wsId)
    );
    expect(messages.some(m => m.type === 'executeReply')).toBe(false);
    expect(await execute(8, 'default', { ranks: [0] })).toEqual({
      type: 'executeReply',
      id: 8,
      status: 400,
      error: { error: 'missing field "code"', field: 'code' }
    });
    expect(await execute(9, 'nope', { code: 'pass' })).toMatchObject({ id: 9, status: 404 });
    expect(await execute(10, 'default', { code: 'pass', ranks: [5] })).toMatchObject({
      id: 10,
      status: 404,
      error: { error: 'rank 5 does not exist: group "default" has ranks 0-1' }
    });
    expect(await sendAndWait('{"type": "execute"')).toMatchObject({ id: -1, status: 400 });

    const badRank = await post('/default/executions', { code: 'pass', ranks: [0, 9] });
    expect(badRank.status).toBe(404);
    expect((await badRank.json()).error).toBe(
      'rank 9 does not exist: group "default" has ranks 0-1'
    );
    expect((await post('/default/executions', { ranks: [0] })).status).toBe(400);

    expect((await api('/default', { method: 'DELETE' })).status).toBe(200);
    expect(((await (await api('/default')).json()) as GroupInfo).state).toBe('stopped');
    ws.close();
    quiet.close();
  });
});
