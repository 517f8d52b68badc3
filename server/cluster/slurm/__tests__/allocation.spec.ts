import { execFileSync } from 'node:child_process';

import { eventually, pidsWithArg } from '../../../__tests__/processes';
import { TESTBED_NODES } from '../../__tests__/testbed';
import { sallocArgs, SlurmAllocation } from '../allocation';

/** A real Slurm (scripts/slurm-testbed.sh, started by jest's global setup): two nodes of 4 CPUs. */
const PYTHON = '/usr/bin/python3';
/** This file's jobs (named ddp-test-…): other test files use the test bed at the same time. */
const queue = () =>
  execFileSync('squeue', ['-h', '-o', '%i %j %T'], { encoding: 'utf8' })
    .split('\n')
    .filter(l => / ddp-test-/.test(l))
    .join('\n');
const jobIds = () =>
  queue()
    .split('\n')
    .filter(Boolean)
    .map(l => l.split(' ')[0]);

const twoByTwo = { nodes: 2, tasksPerNode: 2 };

afterEach(() => {
  // nothing a test asked for outlives it
  expect(queue()).toBe('');
  expect(pidsWithArg('salloc\0--job-name=ddp-test-')).toEqual([]);
});

describe('a Slurm allocation for a group', () => {
  it("passes the user's options as salloc takes them", () => {
    expect(
      sallocArgs('jupyter-ddp-default', {
        nodes: 2,
        gpusPerNode: 4,
        partition: 'gpu',
        account: 'proj',
        time: '1:00:00',
        constraint: 'h100',
        extraArgs: ['--qos=debug']
      })
    ).toEqual([
      '--job-name=jupyter-ddp-default',
      '--nodes=2',
      '--ntasks-per-node=4',
      '--gpus-per-node=4',
      '--partition=gpu',
      '--account=proj',
      '--time=1:00:00',
      '--constraint=h100',
      '--qos=debug'
    ]);
  });

  it('is granted with its nodes in order, at their own addresses, and released', async () => {
    const allocation = await SlurmAllocation.request({
      jobName: 'ddp-test-grant',
      options: twoByTwo,
      python: PYTHON
    });
    expect(allocation.nodes).toEqual(TESTBED_NODES);
    expect(queue()).toBe(`${allocation.jobId} ddp-test-grant RUNNING`);
    // the allocation is usable: a step on both nodes
    const hosts = execFileSync(
      'srun',
      [`--jobid=${allocation.jobId}`, '--nodes=2', '--ntasks-per-node=1', 'hostname'],
      { encoding: 'utf8', timeout: 30_000 }
    );
    expect(hosts.split('\n').filter(Boolean).sort()).toEqual(['ddpn1', 'ddpn2']);
    await allocation.release();
    expect(await eventually(() => !jobIds().includes(allocation.jobId), 10_000)).toBe(true);
  });

  it('says while it is queued, with the job and the reason; cancelling the start cancels the job', async () => {
    const holder = await SlurmAllocation.request({
      jobName: 'ddp-test-holder',
      options: { nodes: 2, tasksPerNode: 4 },
      python: PYTHON
    });
    const cancel = new AbortController();
    const told: [string, string][] = [];
    const waiting = SlurmAllocation.request({
      jobName: 'ddp-test-queued',
      options: twoByTwo,
      python: PYTHON,
      signal: cancel.signal,
      onQueued: (job, reason) => told.push([job, reason])
    });
    expect(await eventually(() => told.some(([, reason]) => reason === 'Resources'), 20_000)).toBe(
      true
    );
    const [job] = told[0];
    expect(queue()).toContain(`${job} ddp-test-queued PENDING`);
    cancel.abort(new Error('the start was cancelled'));
    await expect(waiting).rejects.toThrow('the start was cancelled');
    expect(jobIds()).not.toContain(job);
    await holder.release();
    await eventually(() => queue() === '', 10_000);
  });

  it("ends, saying so in Slurm's words, when the job is cancelled with scancel", async () => {
    const allocation = await SlurmAllocation.request({
      jobName: 'ddp-test-scancel',
      options: twoByTwo,
      python: PYTHON
    });
    execFileSync('scancel', [allocation.jobId]);
    await expect(allocation.ended).resolves.toMatch(
      new RegExp(`^Slurm ended job ${allocation.jobId}: .*(revoked|CANCELLED|gone)`)
    );
    await allocation.release(); // a no-op now
    await eventually(() => queue() === '', 10_000);
  });

  it('fails at once with what Slurm said when it cannot give the allocation', async () => {
    await expect(
      SlurmAllocation.request({
        jobName: 'ddp-test-too-big',
        options: { nodes: 3, tasksPerNode: 1 },
        python: PYTHON
      })
    ).rejects.toThrow(/^Slurm gave no allocation: .*Node count specification invalid/);
  });
});
