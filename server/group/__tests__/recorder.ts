import { ExecutionSummary, GroupInfo, OutputEvent } from '../../../src/protocol/api';
import { createRuntimeDir } from '../../kernel/connection';
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
    { rootDir, runtimeDir: createRuntimeDir(), python: '/usr/bin/python3', ...env },
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
