import * as fs from 'node:fs';
import * as path from 'node:path';

import { ExecutionSummary, GroupInfo, OutputEvent } from '../../../src/protocol/api';
import { eventually } from '../../__tests__/processes';
import { DdpGroup, GroupEnvironment } from '../group';

/** What a group told its listener, for tests with real ranks. */
export interface Recorder {
  outputs: OutputEvent[];
  executions: Map<string, ExecutionSummary>;
  groups: GroupInfo[];
}

export function newGroup(
  rootDir: string,
  env: Partial<GroupEnvironment> = {}
): { group: DdpGroup; seen: Recorder } {
  const seen: Recorder = { outputs: [], executions: new Map(), groups: [] };
  const group = new DdpGroup(
    'default',
    // under the test's root folder, which the test removes
    {
      rootDir,
      runtimeDir: fs.mkdtempSync(path.join(rootDir, '.runtime-')),
      python: '/usr/bin/python3',
      ...env
    },
    {
      group: info => seen.groups.push(info),
      output: event => seen.outputs.push(event),
      execution: summary => seen.executions.set(summary.id, summary)
    }
  );
  return { group, seen };
}

/** Run code and wait for the execution to finish; returns its summary and each rank's stdout. */
export async function run(group: DdpGroup, seen: Recorder, code: string, ranks?: number[]) {
  const { id } = group.execute({ code, ranks });
  await eventually(() => seen.executions.get(id)?.status !== 'running', 60_000);
  const summary = seen.executions.get(id)!;
  const stdout: Record<number, string> = {};
  for (const e of seen.outputs.filter(o => o.execution === id && o.msgType === 'stream')) {
    stdout[e.rank] = (stdout[e.rank] ?? '') + String(e.content.text);
  }
  return { summary, stdout, events: seen.outputs.filter(o => o.execution === id) };
}

/**
 * A python3 kernelspec `name` under `jupyterPath` whose Python also finds the modules in `files`
 * (path under its own folder → source), put first on its PYTHONPATH: a torch that fails, a
 * sitecustomize that misbehaves.
 */
export function writeKernelSpec(
  jupyterPath: string,
  name: string,
  files: Record<string, string>
): void {
  const site = path.join(jupyterPath, `${name}-site`);
  for (const [file, source] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(site, file)), { recursive: true });
    fs.writeFileSync(path.join(site, file), source);
  }
  fs.mkdirSync(path.join(jupyterPath, 'kernels', name), { recursive: true });
  fs.writeFileSync(
    path.join(jupyterPath, 'kernels', name, 'kernel.json'),
    JSON.stringify({
      argv: ['/usr/bin/python3', '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      display_name: `Python 3 (${name})`,
      language: 'python',
      env: { PYTHONPATH: site }
    })
  );
}
