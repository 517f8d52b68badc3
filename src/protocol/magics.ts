/**
 * Ddip's IPython magics (`%%dip`, `%dipush`, `%dipull`, `%autodip`, `%makedip`) read from a code
 * cell, so that Ddip notebooks keep working. One parser for the JupyterLab executor and the
 * headless runner: pure logic, no JupyterLab or Node code at run time.
 */
import type { CellMode } from './cell-mode';
import { GpuList, GpuListError, parseGpuList } from './gpu-list';
import type { RankView } from './outputs';

/** How a `%%dip` cell (or, under `%autodip on`, an unmarked cell) runs. */
export interface DipOptions {
  /**
   * From `%%dip [remote|local|everywhere]` / `--to remote|local|both|everywhere`;
   * remote = 'ddp', both = 'everywhere'.
   */
  mode: CellMode;
  /** `--see all` → 'all'; `--see 0,2` → [0, 2]; absent → null (the cell's or notebook's). */
  see: RankView | null;
  /** `-q` / `--quiet`: show no rank output except errors. */
  quiet: boolean;
}

/** A notebook or group action asked for by a `%autodip` or `%makedip` line. */
export type Directive =
  | { kind: 'autodip'; on: boolean; options: Omit<DipOptions, 'mode'> }
  | {
      kind: 'makedip';
      gpus: GpuList | null;
      cpus: number | null;
      action: 'start' | 'restart' | 'kill' | 'info';
    };

/** A cell whose magics were read: how it runs, what to do first, and the code to run. */
export interface ParsedCell {
  /**
   * Set by a first line `%%dip …` (its options) or `#dip_locally` (local, see null, not quiet);
   * null: no cell magic, the cell's metadata and the notebook's decide.
   */
  dip: DipOptions | null;
  /** `%autodip` and `%makedip` lines, in source order: the caller performs them before the code. */
  directives: Directive[];
  /**
   * The code to run: without the `%%dip` line; other Ddip magic lines blanked or rewritten to
   * Python in place, so line numbers stay. The source itself when nothing was rewritten.
   */
  code: string;
  /** Whether `code` calls {@link CLIENT_NAME} (`%dipush`/`%dipull`): the kernel needs it first. */
  usesClient: boolean;
}

/** Magics used wrongly: nothing of the cell may run. */
export interface MagicError {
  error: string;
}

/** Whether parseCell (or planCell) refused the cell. */
export function isMagicError<T extends object>(p: T | MagicError): p is MagicError {
  return 'error' in p;
}

/** The builtins name of the notebook kernel's client, which rewritten `%dipush`/`%dipull` call. */
export const CLIENT_NAME = '__jupyter_ddp__';

type MagicName = 'dip' | 'dipush' | 'dipull' | 'autodip' | 'makedip';

/** Usage text of each magic, printed by `%dipush?` etc.; its first line is the synopsis. */
export const USAGE: Record<MagicName, string> = {
  dip:
    '%%dip [remote|local|everywhere] [--see all|RANK[,RANK...]] [-q]\n' +
    'Runs the cell on the DDP ranks (remote, the default), in the notebook kernel (local),\n' +
    "or in the notebook kernel, then on the ranks (everywhere; Ddip's --to both says the same).\n" +
    '--see: whose output to show (default: rank 0 and every error); -q/--quiet: errors only.',
  dipush:
    '%dipush [-r RANKS] NAME [NAME ...]\n' +
    "Copies the notebook kernel's variables NAME... to every rank, or to those -r/--ranks lists.",
  dipull:
    '%dipull [-r RANK] NAME [NAME ...]\n' +
    'Copies the variables NAME... of one rank (-r/--rank, default 0) into the notebook kernel.',
  autodip:
    '%autodip on|off [--see all|RANK[,RANK...]] [-q]\n' +
    'on: cells without a %%dip line run on the DDP ranks, with these options; off: they run in\n' +
    'the notebook kernel. A cell whose first line is #dip_locally runs in the notebook kernel.',
  makedip:
    '%makedip [-g all|GPU[,GPU...] | -c N] [-r | -k | -i]\n' +
    'Starts the DDP group: one rank per GPU (-g/--gpus), or N CPU ranks (-c/--cpus) where\n' +
    'there is no GPU. A running group is kept; -r/--restart restarts it (with -g or -c, in\n' +
    'that shape), -k/--kill stops it, -i/--info shows it.\n' +
    "Ddip's --verbose and -a/--app are accepted and ignored."
};

const LOCAL: DipOptions = { mode: 'local', see: null, quiet: false };
const TARGETS: Record<string, CellMode | undefined> = {
  remote: 'ddp',
  local: 'local',
  everywhere: 'everywhere',
  both: 'everywhere'
};
const ACTIONS: Record<string, 'restart' | 'kill' | 'info' | undefined> = {
  '-r': 'restart',
  '--restart': 'restart',
  '-k': 'kill',
  '--kill': 'kill',
  '-i': 'info',
  '--info': 'info'
};
const KNOWN = "Ddip's magics: %%dip, %dipush, %dipull, %autodip, %makedip";

/** Thrown while parsing; parseCell returns it as a MagicError (other throws are bugs). */
class UsageFailure extends Error {}

function fail(magic: MagicName, message: string): never {
  const label = magic === 'dip' ? '%%dip' : `%${magic}`;
  throw new UsageFailure(`${label}: ${message}. Usage: ${USAGE[magic].split('\n')[0]}`);
}

/** The words of a magic line after its name, up to a `#` comment; `--flag=value` is two words. */
function words(rest: string): string[] {
  return rest
    .split('#')[0]
    .split(/\s+/)
    .filter(word => word !== '')
    .flatMap(word => {
      const eq = word.indexOf('=');
      return word.startsWith('--') && eq > 0 ? [word.slice(0, eq), word.slice(eq + 1)] : [word];
    });
}

/** Reads a magic's words in order; a flag's value is the next word. */
class Words {
  private _index = 0;
  constructor(
    readonly magic: MagicName,
    private readonly _list: string[]
  ) {}

  next(): string | undefined {
    return this._list[this._index++];
  }

  value(flag: string): string {
    return this.next() ?? fail(this.magic, `${flag} needs a value`);
  }

  /** A non-negative integer. */
  number(flag: string): number {
    const text = this.value(flag);
    return /^\d+$/.test(text) ? Number(text) : fail(this.magic, `invalid ${flag} value ${text}`);
  }

  /** `all`, or ranks `N` or `N,M,...`. */
  ranks(flag: string): 'all' | number[] {
    const text = this.value(flag);
    if (text === 'all') {
      return 'all';
    }
    if (!/^\d+(,\d+)*$/.test(text)) {
      fail(this.magic, `invalid ${flag} value ${text}`);
    }
    return text.split(',').map(Number);
  }

  /** GPUs, as `--gpus` and the group dialog read them: `all` or distinct indices. */
  gpus(flag: string): GpuList {
    const text = this.value(flag);
    try {
      return parseGpuList(text);
    } catch (err) {
      if (err instanceof GpuListError) {
        fail(this.magic, `invalid ${flag} value ${text}: ${err.problem}`);
      }
      throw err;
    }
  }

  /** `--see` and `-q`, shared by `%%dip` and `%autodip`; false when `word` is neither. */
  viewOption(word: string, options: Omit<DipOptions, 'mode'>): boolean {
    if (word === '--see') {
      options.see = this.ranks(word);
    } else if (word === '-q' || word === '--quiet') {
      options.quiet = true;
    } else {
      return false;
    }
    return true;
  }
}

function parseDip(list: string[]): DipOptions {
  const args = new Words('dip', list);
  const options = { see: null as RankView | null, quiet: false };
  let mode: CellMode = 'ddp';
  let target: string | null = null; // as written, for the error message
  for (let word = args.next(); word !== undefined; word = args.next()) {
    if (word === '--to' || !word.startsWith('-')) {
      const given = word === '--to' ? args.value(word) : word;
      const written = word === '--to' ? `--to ${given}` : given;
      if (target !== null) {
        fail('dip', `conflicting targets ${target} and ${written}`);
      }
      target = written;
      mode = TARGETS[given] ?? fail('dip', `unknown target ${written}`);
    } else if (!args.viewOption(word, options)) {
      fail('dip', `unknown flag ${word}`);
    }
  }
  return { mode, ...options };
}

function parseAutodip(list: string[]): Directive {
  const args = new Words('autodip', list);
  const options = { see: null as RankView | null, quiet: false };
  let on: boolean | null = null;
  for (let word = args.next(); word !== undefined; word = args.next()) {
    if ((word === 'on' || word === 'off') && on === null) {
      on = word === 'on';
    } else if (!args.viewOption(word, options)) {
      fail('autodip', word.startsWith('-') ? `unknown flag ${word}` : `unexpected ${word}`);
    }
  }
  if (on === null) {
    fail('autodip', 'say on or off');
  }
  return { kind: 'autodip', on, options };
}

function parseMakedip(list: string[]): Directive {
  const args = new Words('makedip', list);
  const directive: Directive = { kind: 'makedip', gpus: null, cpus: null, action: 'start' };
  for (let word = args.next(); word !== undefined; word = args.next()) {
    const action = ACTIONS[word];
    if (action) {
      if (directive.action !== 'start' && directive.action !== action) {
        fail('makedip', `${word} cannot be combined with another of -r, -k, -i`);
      }
      directive.action = action;
    } else if (word === '-g' || word === '--gpus') {
      directive.gpus = args.gpus(word);
    } else if (word === '-c' || word === '--cpus') {
      directive.cpus = args.number(word) || fail('makedip', `${word} needs at least 1`);
    } else if (word === '--verbose' || word === '-a' || word === '--app') {
      // Ddip's: fastai needs no patches here (-a), and output is always shown (--verbose).
      args.value(word);
    } else {
      fail('makedip', `unknown flag ${word}`);
    }
  }
  if (directive.gpus !== null && directive.cpus !== null) {
    fail('makedip', '-g and -c cannot be combined');
  }
  return directive;
}

/** `%dipush`/`%dipull` lines as calls to the notebook kernel's client. */
function transferCall(magic: 'dipush' | 'dipull', list: string[]): string {
  const args = new Words(magic, list);
  const push = magic === 'dipush';
  let where = push ? 'ranks=None' : 'rank=0';
  const names: string[] = [];
  for (let word = args.next(); word !== undefined; word = args.next()) {
    if (word === '-r' || word === (push ? '--ranks' : '--rank')) {
      if (push) {
        const ranks = args.ranks(word);
        where = ranks === 'all' ? 'ranks=None' : `ranks=[${ranks.join(', ')}]`;
      } else {
        where = `rank=${args.number(word)}`;
      }
    } else if (word.startsWith('-')) {
      fail(magic, `unknown flag ${word}`);
    } else if (!/^[\p{L}_][\p{L}\p{N}_]*$/u.test(word)) {
      fail(magic, `${word} is not a Python name`);
    } else {
      names.push(`'${word}'`); // a Python name needs no escaping
    }
  }
  if (names.length === 0) {
    fail(magic, 'give at least one NAME');
  }
  return `${CLIENT_NAME}.magic_${push ? 'push' : 'pull'}([${names.join(', ')}], ${where})`;
}

/** What one magic line becomes; null for lines that are not Ddip's (left to IPython). */
function lineMagic(line: string): { text: string; directive?: Directive; client?: true } | null {
  const match = /^(\s*)%(\w+)(\?*)(.*)$/s.exec(line);
  if (!match) {
    return null;
  }
  const [, indent, name, help, rest] = match;
  const list = words(rest);
  if (name === 'load_ext') {
    // Ddip's features are built in: loading it does nothing.
    return list.length === 1 && /^ddipp?$/i.test(list[0]) ? { text: '' } : null;
  }
  if (!name.startsWith('dip') && name !== 'autodip' && name !== 'makedip') {
    return null;
  }
  if (!Object.hasOwn(USAGE, name)) {
    throw new UsageFailure(`unknown magic %${name} (${KNOWN})`);
  }
  const magic = name as MagicName;
  if (help) {
    // JSON string escapes are valid in Python string literals.
    return { text: `${indent}print(${JSON.stringify(USAGE[magic])})` };
  }
  switch (magic) {
    case 'autodip':
      return { text: '', directive: parseAutodip(list) };
    case 'makedip':
      return { text: '', directive: parseMakedip(list) };
    case 'dipull':
      return { text: indent + transferCall('dipull', list), client: true };
    case 'dipush':
      return { text: indent + transferCall('dipush', list), client: true };
    case 'dip':
      // Ddip's older `%dip --push NAME ...`; a whole cell goes with `%%dip` on its first line.
      if (list[0] !== '--push') {
        throw new UsageFailure(
          `%dip: as a line magic only --push NAME [NAME ...] is known (use %dipush); ` +
            `%%dip goes on a cell's first line`
        );
      }
      return { text: indent + transferCall('dipush', list.slice(1)), client: true };
  }
}

type Quote = '"""' | "'''";

/** Whether a triple-quoted string is open after `line`, given the one open before it. */
function openStringAfter(line: string, open: Quote | null): Quote | null {
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === '\\') {
      i++; // an escaped character never opens or closes anything
    } else if (open !== null) {
      if (line.startsWith(open, i)) {
        i += 2;
        open = null;
      }
    } else if (char === '#') {
      break;
    } else if (char === '"' || char === "'") {
      const triple = char.repeat(3) as Quote;
      if (line.startsWith(triple, i)) {
        i += 2;
        open = triple;
      } else {
        // a one-line string: skip to its closing quote
        for (i++; i < line.length && line[i] !== char; i++) {
          if (line[i] === '\\') {
            i++;
          }
        }
      }
    }
  }
  return open;
}

/**
 * Reads a code cell's Ddip magics: how it runs, the directives to perform first and the code to
 * run. A MagicError means the magics are wrong and nothing of the cell may run.
 */
export function parseCell(source: string): ParsedCell | MagicError {
  try {
    return parse(source);
  } catch (err) {
    if (err instanceof UsageFailure) {
      return { error: err.message };
    }
    throw err;
  }
}

function parse(source: string): ParsedCell {
  const lines = source.split('\n');
  const first = lines[0].trimStart();
  const cellMagic = /^%%(\w+)(\?*)(.*)$/s.exec(first);
  let dip: DipOptions | null = null;
  let body = lines;
  if (cellMagic?.[1].startsWith('dip')) {
    const [, name, help, rest] = cellMagic;
    if (name !== 'dip') {
      throw new UsageFailure(`unknown magic %%${name} (${KNOWN})`);
    }
    if (help) {
      // the help replaces the cell, printed in the notebook kernel
      return {
        dip: { ...LOCAL },
        directives: [],
        code: `print(${JSON.stringify(USAGE.dip)})`,
        usesClient: false
      };
    }
    dip = parseDip(words(rest));
    body = lines.slice(1);
  } else if (first.startsWith('#dip_locally')) {
    dip = { ...LOCAL };
  }
  const directives: Directive[] = [];
  let usesClient = false;
  let open: Quote | null = null;
  const code = body.map(line => {
    const magic = open === null ? lineMagic(line) : null;
    if (magic === null) {
      open = openStringAfter(line, open);
      return line;
    }
    if (magic.directive) {
      directives.push(magic.directive);
    }
    usesClient ||= magic.client === true;
    return magic.text;
  });
  return { dip, directives, code: code.join('\n'), usesClient };
}
