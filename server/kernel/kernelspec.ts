import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { userDataDir } from '../jupyter/paths';
import { findPython } from '../jupyter/python';

const run = promisify(execFile);

/** One kernelspec, as jupyter_client's KernelSpec describes it. */
export interface KernelSpec {
  /** Folder name, lower-cased like jupyter_client. */
  name: string;
  /** Absolute path of the kernelspec folder ('' for a synthesized spec whose folder is unknown). */
  resourceDir: string;
  /** kernel.json argv, placeholders such as {connection_file} kept as they are. */
  argv: string[];
  displayName: string;
  language: string;
  env: Record<string, string>;
  interruptMode: 'signal' | 'message';
  metadata: Record<string, unknown>;
}

export interface FindKernelSpecsOptions {
  /**
   * Ask `jupyter kernelspec list --json` first (default true). When false, or when that command is
   * missing or fails, the kernel folders are scanned directly.
   */
  jupyterCommand?: boolean;
  /** Scan these `.../kernels` folders instead of the jupyter_path('kernels') order. */
  kernelDirs?: string[];
  /** Synthesize the native 'python3' spec when none is found (default true), like jupyter_client. */
  native?: boolean;
}

/** jupyter_client's name for the ipykernel spec it provides when no folder defines one. */
export const NATIVE_KERNEL_NAME = 'python3';

/** jupyter_client accepts only these kernel (folder) names. */
const KERNEL_NAME = /^[a-z0-9._-]+$/i;

/**
 * The Jupyter data folders in jupyter_core.paths.jupyter_path() order: $JUPYTER_PATH entries, the
 * user data folder, the Python environment's share/jupyter (`sysPrefix`/share/jupyter; left out
 * without a sysPrefix), then the system folders. JUPYTER_PREFER_ENV_PATH=1 puts the environment's
 * folder before the user's, as jupyter_core 5 does. Absolute paths; duplicates dropped, first kept.
 */
export function jupyterDataDirs(sysPrefix?: string | null): string[] {
  const dirs: string[] = [];
  const sep = process.platform === 'win32' ? ';' : ':';
  for (const entry of (process.env.JUPYTER_PATH ?? '').split(sep)) {
    if (entry) {
      dirs.push(entry);
    }
  }
  const user = userDataDir();
  const system = systemDataDirs();
  // like jupyter_core, an environment folder that is also a system folder keeps the system place
  let env = sysPrefix ? path.resolve(sysPrefix, 'share', 'jupyter') : null;
  if (env && system.some(d => path.resolve(d) === env)) {
    env = null;
  }
  if (env && truthy(process.env.JUPYTER_PREFER_ENV_PATH)) {
    dirs.push(env, user);
  } else {
    dirs.push(user);
    if (env) {
      dirs.push(env);
    }
  }
  dirs.push(...system);
  return [...new Set(dirs.map(d => path.resolve(d)))];
}

function truthy(value: string | undefined): boolean {
  return !!value && !['0', 'false', 'no', 'off', 'n', 'f'].includes(value.toLowerCase());
}

function systemDataDirs(): string[] {
  if (process.platform === 'win32') {
    return process.env.PROGRAMDATA ? [path.join(process.env.PROGRAMDATA, 'jupyter')] : [];
  }
  return ['/usr/local/share/jupyter', '/usr/share/jupyter'];
}

/** sys.prefix of the Python that findPython([]) picks; null without a Python. */
async function pythonPrefix(): Promise<string | null> {
  const python = await findPython([]);
  if (!python) {
    return null;
  }
  try {
    const { stdout } = await run(python, ['-c', 'import sys; print(sys.prefix)'], {
      timeout: 30_000,
      env: process.env
    });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

/** The `kernels` folders the scan searches, in order (sys.prefix asked of findPython([])). */
export async function kernelSearchDirs(): Promise<string[]> {
  return jupyterDataDirs(await pythonPrefix()).map(d => path.join(d, 'kernels'));
}

/**
 * A spec from a kernel.json object; null when it is not one jupyter_client could load (no argv,
 * wrong types, unknown interrupt_mode).
 */
export function parseKernelJson(
  name: string,
  resourceDir: string,
  json: unknown
): KernelSpec | null {
  if (!isObject(json)) {
    return null;
  }
  const { argv, display_name, language, env, interrupt_mode, metadata } = json;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every(a => typeof a === 'string')) {
    return null;
  }
  if (!optional(display_name, 'string') || !optional(language, 'string')) {
    return null;
  }
  if (env !== undefined && env !== null) {
    if (!isObject(env) || !Object.values(env).every(v => typeof v === 'string')) {
      return null;
    }
  }
  if (metadata !== undefined && metadata !== null && !isObject(metadata)) {
    return null;
  }
  let interruptMode: 'signal' | 'message' = 'signal';
  if (interrupt_mode !== undefined && interrupt_mode !== null) {
    const mode = typeof interrupt_mode === 'string' ? interrupt_mode.toLowerCase() : '';
    if (mode !== 'signal' && mode !== 'message') {
      return null;
    }
    interruptMode = mode;
  }
  return {
    name,
    resourceDir,
    argv: [...(argv as string[])],
    displayName: (display_name as string | undefined) ?? '',
    language: (language as string | undefined) ?? '',
    env: { ...((env as Record<string, string> | null | undefined) ?? {}) },
    interruptMode,
    metadata: { ...((metadata as Record<string, unknown> | null | undefined) ?? {}) }
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optional(value: unknown, type: 'string'): boolean {
  return value === undefined || value === null || typeof value === type;
}

/** The valid kernelspecs in one `kernels` folder, by lower-cased name. */
async function specsIn(dir: string): Promise<Map<string, KernelSpec>> {
  const found = new Map<string, KernelSpec>();
  let entries: string[];
  try {
    entries = (await fs.readdir(dir)).sort();
  } catch {
    return found; // missing or unreadable: jupyter_client skips it too
  }
  for (const entry of entries) {
    const name = entry.toLowerCase();
    if (!KERNEL_NAME.test(name) || found.has(name)) {
      continue;
    }
    const resourceDir = path.resolve(dir, entry);
    let json: unknown;
    try {
      json = JSON.parse(await fs.readFile(path.join(resourceDir, 'kernel.json'), 'utf8'));
    } catch {
      continue; // not a kernel folder, or a broken kernel.json
    }
    const spec = parseKernelJson(name, resourceDir, json);
    if (spec) {
      found.set(name, spec);
    }
  }
  return found;
}

/** The folder scan: the first valid spec of each name wins. */
async function scanKernelDirs(dirs: string[]): Promise<Map<string, KernelSpec>> {
  const specs = new Map<string, KernelSpec>();
  for (const dir of dirs) {
    for (const [name, spec] of await specsIn(dir)) {
      if (!specs.has(name)) {
        specs.set(name, spec);
      }
    }
  }
  return specs;
}

/**
 * `jupyter kernelspec list --json`; null when the command is missing, fails or says nonsense.
 * (Child processes get `env` explicitly so that PATH and JUPYTER_* follow this module's
 * process.env, which under jest is a per-file copy that child_process would not see.)
 */
async function specsFromJupyterCommand(): Promise<Map<string, KernelSpec> | null> {
  let stdout: string;
  try {
    ({ stdout } = await run('jupyter', ['kernelspec', 'list', '--json'], {
      timeout: 30_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' }
    }));
  } catch {
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return null;
  }
  if (!isObject(parsed) || !isObject(parsed.kernelspecs)) {
    return null;
  }
  const specs = new Map<string, KernelSpec>();
  for (const [key, entry] of Object.entries(parsed.kernelspecs)) {
    if (!isObject(entry)) {
      continue;
    }
    const name = key.toLowerCase();
    const resourceDir = typeof entry.resource_dir === 'string' ? entry.resource_dir : '';
    const spec = parseKernelJson(name, resourceDir, entry.spec);
    if (spec && !specs.has(name)) {
      specs.set(name, spec);
    }
  }
  return specs;
}

/** jupyter_client's fallback 'python3' spec: ipykernel in the Python that has it. */
async function nativeSpec(): Promise<KernelSpec | null> {
  const python = await findPython(['ipykernel']);
  if (!python) {
    return null;
  }
  let resourceDir = '';
  let metadata: Record<string, unknown> = {};
  try {
    const { stdout } = await run(
      python,
      [
        '-c',
        'import json; from ipykernel.kernelspec import RESOURCES, get_kernel_dict; ' +
          'print(json.dumps({"resources": RESOURCES, "metadata": get_kernel_dict().get("metadata", {})}))'
      ],
      { timeout: 30_000, env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' } }
    );
    const info = JSON.parse(stdout) as { resources?: unknown; metadata?: unknown };
    if (typeof info.resources === 'string') {
      resourceDir = info.resources;
    }
    if (isObject(info.metadata)) {
      metadata = info.metadata;
    }
  } catch {
    // an older ipykernel: the spec still works without its folder (logos) and metadata
  }
  return {
    name: NATIVE_KERNEL_NAME,
    resourceDir,
    argv: [python, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
    displayName: 'Python 3 (ipykernel)',
    language: 'python',
    env: {},
    interruptMode: 'signal',
    metadata
  };
}

/**
 * Every kernelspec, by name, as jupyter_client's KernelSpecManager would list it: the `jupyter`
 * command's answer when it has one, else a scan of the kernel folders in jupyter_path order
 * (first valid spec of a name wins; folders with a missing or invalid kernel.json are skipped).
 * Like jupyter_client, a missing 'python3' is provided by ipykernel when a Python has it.
 */
export async function findKernelSpecs(
  options: FindKernelSpecsOptions = {}
): Promise<Map<string, KernelSpec>> {
  let specs: Map<string, KernelSpec> | null = null;
  if (options.jupyterCommand !== false && !options.kernelDirs) {
    specs = await specsFromJupyterCommand();
  }
  if (!specs) {
    specs = await scanKernelDirs(options.kernelDirs ?? (await kernelSearchDirs()));
  }
  if (options.native !== false && !specs.has(NATIVE_KERNEL_NAME)) {
    const native = await nativeSpec();
    if (native) {
      specs.set(NATIVE_KERNEL_NAME, native);
    }
  }
  return specs;
}

/** The kernelspec of this name (case-insensitive); throws naming it and the available ones. */
export async function getKernelSpec(
  name: string,
  options: FindKernelSpecsOptions = {}
): Promise<KernelSpec> {
  const specs = await findKernelSpecs(options);
  const spec = specs.get(name.toLowerCase());
  if (spec) {
    return spec;
  }
  const names = [...specs.keys()].sort();
  throw new Error(
    `No such kernel: '${name}'. ` +
      (names.length ? `Available kernelspecs: ${names.join(', ')}.` : 'No kernelspecs were found.')
  );
}
