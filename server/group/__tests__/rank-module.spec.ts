import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Kernel } from '../../kernel/kernel';
import { PACKAGE_ROOT } from '../../package-root';
import { DdpGroup } from '../group';
import { newGroup, Recorder, run } from './recorder';

/** Run Python here with server/py's modules importable; gives what it prints. */
function python(code: string): string {
  const setup = `import sys\nsys.dont_write_bytecode = True\nsys.path.insert(0, ${JSON.stringify(path.join(PACKAGE_ROOT, 'server', 'py'))})\nimport jupyter_ddp_values as transfer_files\n`;
  return execFileSync('/usr/bin/python3', ['-c', setup + code])
    .toString()
    .trim();
}

/** A new transfer file holding the dict `values` (a Python expression). */
const transferFile = (values: string, tag: string) =>
  python(`print(transfer_files.dump(${values}, "${tag}"))`);

/** The repr of what a transfer file holds; the file is removed. */
const readTransferFile = (file: string) =>
  python(`print(repr(transfer_files.load("${file}")))\ntransfer_files.remove("${file}")`);

/** The module names of jupyter-ddp in sys.modules on each rank, and the id of the rank module. */
const MODULES = `import sys as _sys
print(sorted(m for m in _sys.modules if m.startswith("jupyter_ddp")), id(_sys.modules.get("jupyter_ddp_rank")))
del _sys`;

const RANK_MODULES =
  "['jupyter_ddp_rank', 'jupyter_ddp_rank.compat', 'jupyter_ddp_rank.startup', " +
  "'jupyter_ddp_rank.transfer', 'jupyter_ddp_rank.tuning', 'jupyter_ddp_values']";

/**
 * The rank side lives in the module jupyter_ddp_rank, installed once per kernel: nothing of it in
 * the user's namespace, nothing of it sent again with each call, and a `%reset` or a deleted
 * module does not break push, pull or ddp.run. Two real CPU ranks with gloo.
 */
describe('the rank module', () => {
  let rootDir: string;
  let group: DdpGroup;
  let seen: Recorder;
  let execute: jest.SpiedFunction<Kernel['execute']>;

  /** Bytes of code and of expression in each silent request sent to a kernel since the last look. */
  function sent(): { code: number; expression: number }[] {
    const calls = execute.mock.calls.filter(([, options]) => options?.silent);
    execute.mockClear();
    return calls.map(([code, options]) => ({
      code: Buffer.byteLength(code),
      expression: Buffer.byteLength(Object.values(options?.userExpressions ?? {}).join(''))
    }));
  }

  /** Push, pull and call through the group, as ddp.push, ddp.pull and ddp.run do. */
  async function pushPullCall(value: number): Promise<void> {
    expect(await group.push({ file: transferFile(`{"pushed": ${value}}`, 'push') })).toEqual({
      ranks: [0, 1],
      names: ['pushed']
    });
    const pulled = await group.pull({ names: ['pushed'], rank: 1 });
    expect(readTransferFile(pulled.file)).toBe(`{'pushed': ${value}}`);
    const called = await group.call({
      file: transferFile('{"fn": divmod, "args": (7, 2), "kwargs": {}}', 'call')
    });
    expect(called.results.map(r => readTransferFile(r.file!))).toEqual([
      "{'value': (3, 1)}",
      "{'value': (3, 1)}"
    ]);
  }

  /** Each rank's line of `code`'s output. */
  async function onRanks(code: string): Promise<Record<number, string>> {
    const { stdout } = await run(group, seen, code);
    return { 0: stdout[0].trim(), 1: stdout[1].trim() };
  }

  beforeAll(async () => {
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-rank-module-'));
    ({ group, seen } = newGroup(rootDir));
    execute = jest.spyOn(Kernel.prototype, 'execute');
    await group.start({ ranks: 2, spares: false });
  }, 120_000);

  afterAll(async () => {
    execute.mockRestore();
    await group.stop();
    fs.rmSync(rootDir, { recursive: true, force: true });
  });

  it('is installed with the first call only, and leaves no name in the namespace', async () => {
    // The start's first call to each rank carries the modules; its other calls do not.
    const start = sent();
    expect(start.filter(s => s.code > 10_000)).toHaveLength(2);
    expect(start.filter(s => s.code > 0)).toHaveLength(2);

    await pushPullCall(1);
    // stage and commit on each rank, pull on one, run on each: the call alone, in under 1 KB.
    const calls = sent();
    expect(calls).toHaveLength(7);
    for (const call of calls) {
      expect(call.code).toBe(0);
      expect(call.expression).toBeLessThan(1000);
    }

    const names = await onRanks('print(sorted(n for n in globals() if "ddp" in n.lower()))');
    expect(names).toEqual({ 0: '[]', 1: '[]' });
    const modules = await onRanks(MODULES);
    expect(modules[0]).toMatch(new RegExp(`^${escape(RANK_MODULES)} \\d+$`));
    expect(modules[1]).toMatch(new RegExp(`^${escape(RANK_MODULES)} \\d+$`));
  });

  it('keeps working, with the same module, after %reset -f on the ranks', async () => {
    const before = await onRanks(MODULES);
    await onRanks('%reset -f\nprint("reset")');
    expect(await onRanks('print("pushed" in globals())')).toEqual({ 0: 'False', 1: 'False' });
    sent();
    await pushPullCall(2);
    expect(sent().every(call => call.code === 0)).toBe(true);
    expect(await onRanks(MODULES)).toEqual(before);
  });

  it('is installed again, once, where it was deleted from sys.modules', async () => {
    const before = await onRanks(MODULES);
    // Rank 0 loses the package only, rank 1 every module of jupyter-ddp.
    await onRanks(
      [
        'import os as _os, sys as _sys',
        'for _m in [m for m in _sys.modules if m.startswith("jupyter_ddp")]:',
        '    if _os.environ["RANK"] == "1" or _m == "jupyter_ddp_rank":',
        '        del _sys.modules[_m]',
        'print(sorted(m for m in _sys.modules if m.startswith("jupyter_ddp_rank")))',
        'del _os, _sys, _m'
      ].join('\n')
    );
    sent();
    await pushPullCall(3);
    // The first call to each rank finds it missing and is sent again with the modules.
    expect(sent().filter(call => call.code > 10_000)).toHaveLength(2);
    const after = await onRanks(MODULES);
    for (const rank of [0, 1]) {
      expect(after[rank]).toMatch(new RegExp(`^${escape(RANK_MODULES)} \\d+$`));
      expect(after[rank]).not.toBe(before[rank]);
    }
    expect(await onRanks('print(pushed)')).toEqual({ 0: '3', 1: '3' });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
