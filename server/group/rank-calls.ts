import { Kernel } from '../kernel/kernel';
import { installModulesCode } from '../kernel/python-modules';

/** An answer that says why the call could not do it there (bad input, not a broken rank). */
interface RankError {
  error: string;
}

/** What torch looks like on a rank, and its process. */
export interface PreparedRank {
  pid: number;
  /** torch's version; null where it is not importable (`error` says why). */
  torch: string | null;
  cuda: boolean;
  error: string | null;
}

/**
 * Every call the server makes on a rank: its keyword arguments and what it gives. The Python side
 * is the table CALLS of server/py/jupyter_ddp_rank/__init__.py; a Python exception rejects the call.
 */
export interface RankCalls {
  /** A warm spare imports torch and torch.distributed, touching no GPU. */
  warm: { args: Record<string, never>; result: null };
  /** Add torchrun's variables to a (spare's) os.environ. */
  setEnvironment: { args: { env: Record<string, string> }; result: null };
  /** Tune the kernel, then import torch. */
  prepare: { args: Record<string, never>; result: PreparedRank };
  /** Make the process group through the rendezvous file `store`; `timeout` in seconds. */
  initProcessGroup: {
    args: { backend: 'nccl' | 'gloo'; timeout: number; store: string; port: number };
    result: null;
  };
  /** Load a pushed transfer file aside, until `commit` or `discard` of the same `txn`. */
  stage: { args: { file: string; txn: string }; result: { names: string[] } | RankError };
  commit: { args: { txn: string }; result: null };
  discard: { args: { txn: string }; result: null };
  /** Write the named values to a new transfer file; `missing`: the names the rank lacks. */
  pull: {
    args: { names: string[] };
    result: { file: string; unwrapped: string[] } | (RankError & { missing?: string[] });
  };
  /** ddp.run: call the (fn, args, kwargs) of a transfer file; the result in a new one. */
  run: {
    args: { file: string };
    result: { file: string; output: string } | (RankError & { traceback?: string; output: string });
  };
}

export type RankCallName = keyof RankCalls;

/** The rank modules, put in a kernel's sys.modules by its first call, and kept there. */
const INSTALL = installModulesCode(['jupyter_ddp_values', 'jupyter_ddp_rank'], false);

/** What the call expression gives where the module is missing: not base64, so never an answer. */
const MISSING = 'jupyter_ddp_rank is missing';

/** Kernels that the module was installed in (a kernel keeps it across `%reset`). */
const installed = new WeakSet<Kernel>();

/**
 * The expression that calls `name` on a rank. It names nothing in the user's namespace, and
 * where the module is missing (a new kernel, or deleted from sys.modules) it gives MISSING.
 */
function callExpression(name: RankCallName, args: unknown): string {
  const encoded = Buffer.from(JSON.stringify(args)).toString('base64');
  const module = '__import__("sys").modules.get("jupyter_ddp_rank")';
  return `getattr(${module}, "call", lambda *_: ${JSON.stringify(MISSING)})(${JSON.stringify(name)}, "${encoded}")`;
}

/**
 * Call `name` on a rank with `args`, silently; resolves with its decoded result. The first call to
 * a kernel installs the rank modules with it; a call that finds them gone installs them again
 * and is retried once.
 */
export async function callRank<Name extends RankCallName>(
  kernel: Kernel,
  name: Name,
  args: RankCalls[Name]['args']
): Promise<RankCalls[Name]['result']> {
  const expression = callExpression(name, args);
  let answer = await kernel.evaluate(installed.has(kernel) ? '' : INSTALL, expression);
  if (answer === MISSING) {
    answer = await kernel.evaluate(INSTALL, expression);
  }
  if (answer === MISSING) {
    throw new Error(`${kernel.label}: the module jupyter_ddp_rank could not be installed`);
  }
  installed.add(kernel);
  return JSON.parse(Buffer.from(answer, 'base64').toString('utf8')) as RankCalls[Name]['result'];
}
