import {
  CLIENT_NAME,
  Directive,
  isMagicError,
  MagicError,
  ParsedCell,
  parseCell,
  USAGE
} from '../magics';

/** The parse of a cell that must be accepted. */
function parsed(source: string): ParsedCell {
  const result = parseCell(source);
  if (isMagicError(result)) {
    throw new Error(`unexpected error: ${result.error}`);
  }
  return result;
}

/** The message of a cell that must be refused. */
function error(source: string): string {
  const result = parseCell(source);
  if (!isMagicError(result)) {
    throw new Error(`expected an error for ${JSON.stringify(source)}`);
  }
  return result.error;
}

const push = (names: string, ranks = 'None'): string =>
  `${CLIENT_NAME}.magic_push([${names}], ranks=${ranks})`;
const pull = (names: string, rank = 0): string =>
  `${CLIENT_NAME}.magic_pull([${names}], rank=${rank})`;
const start: Directive = { kind: 'makedip', gpus: null, cpus: null, action: 'start' };

describe('cells without Ddip magics', () => {
  it('are returned as they are', () => {
    const source = 'import os\nprint(os.getpid())\n';
    expect(parsed(source)).toEqual({ dip: null, directives: [], code: source, usesClient: false });
    expect(parsed('').code).toBe('');
  });

  it('leave other magics and shell lines to IPython', () => {
    const source = '%matplotlib inline\n%time x = 1\n!nvidia-smi\n%%time\n%load_ext autoreload';
    expect(parsed(source)).toEqual({ dip: null, directives: [], code: source, usesClient: false });
    const timed = '%%time\nx = 1';
    expect(parsed(timed).code).toBe(timed);
  });
});

describe('%%dip', () => {
  it('runs the cell on the ranks by default and drops its line', () => {
    expect(parsed('%%dip\nfoobar, var_printer')).toEqual({
      dip: { mode: 'ddp', see: null, quiet: false },
      directives: [],
      code: 'foobar, var_printer',
      usesClient: false
    });
    expect(parsed('%%dip').code).toBe('');
  });

  it('reads the targets of the Ddip walkthrough (seed 003)', () => {
    expect(parsed('%%dip everywhere\nimport os # For convenience')).toMatchObject({
      dip: { mode: 'everywhere', see: null, quiet: false },
      code: 'import os # For convenience'
    });
    expect(parsed('%%dip local\nx = 1').dip?.mode).toBe('local');
    expect(parsed('%%dip remote\nx = 1').dip?.mode).toBe('ddp');
  });

  it("reads Ddip's older --to spelling (seed 002)", () => {
    const cell = '%%dip --to both\n\n# Execute this cell first in local notebook\nimport os';
    expect(parsed(cell)).toMatchObject({
      dip: { mode: 'everywhere' },
      code: '\n# Execute this cell first in local notebook\nimport os'
    });
    expect(parsed('%%dip --to remote').dip?.mode).toBe('ddp');
    expect(parsed('%%dip --to local').dip?.mode).toBe('local');
    expect(parsed('%%dip --to=everywhere').dip?.mode).toBe('everywhere');
  });

  it('chooses whose output to see', () => {
    const cell = '%%dip --see all\n# Use `--see all` to see the outputs from all DDP processes';
    expect(parsed(cell).dip).toEqual({ mode: 'ddp', see: 'all', quiet: false });
    expect(parsed('%%dip everywhere --see all\nx').dip).toEqual({
      mode: 'everywhere',
      see: 'all',
      quiet: false
    });
    expect(parsed('%%dip --see 0,2').dip?.see).toEqual([0, 2]);
    expect(parsed('%%dip --see 0').dip?.see).toEqual([0]);
    expect(parsed('%%dip --see=all').dip?.see).toBe('all');
    expect(parsed('%%dip -q').dip?.quiet).toBe(true);
    expect(parsed('%%dip --quiet local').dip).toEqual({ mode: 'local', see: null, quiet: true });
  });

  it('ignores a comment on its line and leading spaces', () => {
    expect(parsed('%%dip # Add this to the first line of a notebook cell\nx').dip).toEqual({
      mode: 'ddp',
      see: null,
      quiet: false
    });
    expect(parsed('  %%dip everywhere\nx').dip?.mode).toBe('everywhere');
  });

  it('is special only on the first line', () => {
    const source = 'x = 1\n%%dip\ny = 2';
    expect(parsed(source)).toEqual({ dip: null, directives: [], code: source, usesClient: false });
  });

  it('still reads the line magics of its body', () => {
    expect(parsed('%%dip local\n%dipush x\nx')).toEqual({
      dip: { mode: 'local', see: null, quiet: false },
      directives: [],
      code: `${push("'x'")}\nx`,
      usesClient: true
    });
  });

  it('prints its usage for %%dip? in the notebook kernel', () => {
    expect(parsed('%%dip?')).toEqual({
      dip: { mode: 'local', see: null, quiet: false },
      directives: [],
      code: `print(${JSON.stringify(USAGE.dip)})`,
      usesClient: false
    });
  });

  it('refuses unknown flags and targets, naming them and showing usage', () => {
    expect(error('%%dip --verbose\nx')).toBe(
      `%%dip: unknown flag --verbose. Usage: ${USAGE.dip.split('\n')[0]}`
    );
    expect(error('%%dip somewhere')).toMatch(/^%%dip: unknown target somewhere\. Usage: %%dip /);
    expect(error('%%dip --to nowhere')).toContain('unknown target --to nowhere');
    expect(error('%%dip --to')).toContain('--to needs a value');
  });

  it('refuses conflicting targets', () => {
    expect(error('%%dip everywhere --to remote')).toContain(
      'conflicting targets everywhere and --to remote'
    );
    expect(error('%%dip remote local')).toContain('conflicting targets remote and local');
  });

  it('refuses bad --see values', () => {
    expect(error('%%dip --see')).toContain('--see needs a value');
    expect(error('%%dip --see some')).toContain('invalid --see value some');
    expect(error('%%dip --see 0,,1')).toContain('invalid --see value 0,,1');
    expect(error('%%dip --see -1')).toContain('invalid --see value -1');
  });

  it('refuses unknown %%dip… cell magics', () => {
    expect(error('%%dipp\nx')).toMatch(/^unknown magic %%dipp \(Ddip's magics: %%dip, %dipush/);
  });
});

describe('#dip_locally', () => {
  it('runs the cell in the notebook kernel and keeps the comment line', () => {
    const source = '#dip_locally\nx = 1';
    expect(parsed(source)).toEqual({
      dip: { mode: 'local', see: null, quiet: false },
      directives: [],
      code: source,
      usesClient: false
    });
    expect(parsed('#dip_locally   regardless of %autodip\nx').dip?.mode).toBe('local');
  });

  it('counts only on the first line', () => {
    expect(parsed('x = 1\n#dip_locally').dip).toBeNull();
  });
});

describe('%dipush', () => {
  it('becomes a push of the names to every rank', () => {
    expect(parsed('%dipush foobar var_printer')).toEqual({
      dip: null,
      directives: [],
      code: push("'foobar', 'var_printer'"),
      usesClient: true
    });
  });

  it('pushes to the ranks -r lists', () => {
    expect(parsed('%dipush -r 0,2 a').code).toBe(push("'a'", '[0, 2]'));
    expect(parsed('%dipush a --ranks 1').code).toBe(push("'a'", '[1]'));
    expect(parsed('%dipush --ranks=all a').code).toBe(push("'a'"));
  });

  it("reads Ddip's older %dip --push (seed 002)", () => {
    expect(parsed('%dip --push a b').code).toBe(push("'a', 'b'"));
    expect(error('%dip a b')).toMatch(/^%dip: as a line magic only --push/);
  });

  it('keeps the line where it was, with its indentation', () => {
    const cell = 'x = 1\nif x:\n    %dipush x  # send it\nprint(x)';
    expect(parsed(cell).code).toBe(`x = 1\nif x:\n    ${push("'x'")}\nprint(x)`);
  });

  it('takes Python names only', () => {
    expect(parsed('%dipush _private mötley x2').code).toBe(push("'_private', 'mötley', 'x2'"));
    expect(error('%dipush model.weights')).toBe(
      '%dipush: model.weights is not a Python name. Usage: %dipush [-r RANKS] NAME [NAME ...]'
    );
    expect(error("%dipush a'b")).toContain("a'b is not a Python name");
    expect(error('%dipush 2x')).toContain('2x is not a Python name');
  });

  it('refuses missing names, unknown flags and bad ranks', () => {
    expect(error('%dipush')).toBe(
      '%dipush: give at least one NAME. Usage: %dipush [-r RANKS] NAME [NAME ...]'
    );
    expect(error('%dipush # nothing')).toContain('give at least one NAME');
    expect(error('%dipush -x a')).toContain('%dipush: unknown flag -x');
    expect(error('%dipush a -r')).toContain('-r needs a value');
    expect(error('%dipush -r one a')).toContain('invalid -r value one');
  });
});

describe('%dipull', () => {
  it('pulls from rank 0 by default, before the next line runs', () => {
    const print = 'print(f"Process [{os.getpid()}]: remote_pid is {remote_pid}")';
    expect(parsed(`%dipull remote_pid\n${print}`)).toEqual({
      dip: null,
      directives: [],
      code: `${pull("'remote_pid'")}\n${print}`,
      usesClient: true
    });
  });

  it('pulls from the rank -r names', () => {
    expect(parsed('%dipull -r 1 remote_pid').code).toBe(pull("'remote_pid'", 1));
    expect(parsed('%dipull x y --rank=3').code).toBe(pull("'x', 'y'", 3));
    expect(parsed('%dipull --rank 0 x').code).toBe(pull("'x'", 0));
  });

  it('refuses bad ranks, unknown flags and missing names', () => {
    expect(error('%dipull -x remote_pid')).toBe(
      '%dipull: unknown flag -x. Usage: %dipull [-r RANK] NAME [NAME ...]'
    );
    expect(error('%dipull -r remote_pid')).toContain('invalid -r value remote_pid');
    expect(error('%dipull -r -1 x')).toContain('invalid -r value -1');
    expect(error('%dipull -r 0,1 x')).toContain('invalid -r value 0,1');
    expect(error('%dipull x -r')).toContain('-r needs a value');
    expect(error('%dipull --ranks 1 x')).toContain('unknown flag --ranks');
    expect(error('%dipull -r 1')).toContain('%dipull: give at least one NAME');
  });
});

describe('%autodip', () => {
  it('becomes a directive and a blank line (seed 002)', () => {
    expect(parsed('%autodip on --see all')).toEqual({
      dip: null,
      directives: [{ kind: 'autodip', on: true, options: { see: 'all', quiet: false } }],
      code: '',
      usesClient: false
    });
    expect(parsed('%autodip off  # Subsequent cells run in local notebook').directives).toEqual([
      { kind: 'autodip', on: false, options: { see: null, quiet: false } }
    ]);
    expect(parsed('%autodip -q on --see 1,3').directives).toEqual([
      { kind: 'autodip', on: true, options: { see: [1, 3], quiet: true } }
    ]);
  });

  it('refuses a missing or other on/off value and unknown flags', () => {
    expect(error('%autodip')).toBe(
      '%autodip: say on or off. Usage: %autodip on|off [--see all|RANK[,RANK...]] [-q]'
    );
    expect(error('%autodip yes')).toContain('%autodip: unexpected yes');
    expect(error('%autodip on off')).toContain('unexpected off');
    expect(error('%autodip on everywhere')).toContain('unexpected everywhere');
    expect(error('%autodip on --to both')).toContain('unknown flag --to');
  });
});

describe('%makedip', () => {
  it("reads the walkthrough's restart on every GPU (seed 003)", () => {
    expect(parsed('%load_ext Ddip\n%makedip -r -g all --verbose False')).toEqual({
      dip: null,
      directives: [{ kind: 'makedip', gpus: 'all', cpus: null, action: 'restart' }],
      code: '\n',
      usesClient: false
    });
  });

  it("accepts and ignores Ddip's --verbose and -a (seed 002)", () => {
    expect(parsed('%makedip -g all -a fastai_v1 --verbose True').directives).toEqual([
      { kind: 'makedip', gpus: 'all', cpus: null, action: 'start' }
    ]);
    expect(parsed('%makedip --app=fastai_v1').directives).toEqual([start]);
    expect(error('%makedip --verbose')).toContain('--verbose needs a value');
  });

  it('reads GPUs, CPU ranks and actions', () => {
    expect(parsed('%makedip').directives).toEqual([start]);
    expect(parsed('%makedip --gpus 0,1').directives).toEqual([{ ...start, gpus: [0, 1] }]);
    expect(parsed('%makedip -c 4').directives).toEqual([{ ...start, cpus: 4 }]);
    expect(parsed('%makedip --cpus=2 --restart').directives).toEqual([
      { ...start, cpus: 2, action: 'restart' }
    ]);
    expect(parsed('%makedip -k').directives).toEqual([{ ...start, action: 'kill' }]);
    expect(parsed('%makedip --info').directives).toEqual([{ ...start, action: 'info' }]);
    expect(parsed('%makedip -r --restart').directives).toEqual([{ ...start, action: 'restart' }]);
  });

  it('refuses -g with -c, two actions, bad values and unknown flags', () => {
    expect(error('%makedip -g all -c 2')).toBe(
      '%makedip: -g and -c cannot be combined. ' +
        'Usage: %makedip [-g all|GPU[,GPU...] | -c N] [-r | -k | -i]'
    );
    expect(error('%makedip -r -k')).toContain('-k cannot be combined with another of -r, -k, -i');
    expect(error('%makedip -c 0')).toContain('-c needs at least 1');
    expect(error('%makedip -c two')).toContain('invalid -c value two');
    expect(error('%makedip -g')).toContain('-g needs a value');
    expect(error('%makedip -g 0;1')).toContain('invalid -g value 0;1');
    expect(error('%makedip -x')).toContain('%makedip: unknown flag -x');
  });

  it('reads -g as --gpus and the group dialog do, naming the bad entry', () => {
    expect(parsed('%makedip -g ALL').directives).toEqual([{ ...start, gpus: 'all' }]);
    expect(error('%makedip -g 0,a')).toBe(
      "%makedip: invalid -g value 0,a: 'a' is not a GPU index (expected 'all' or non-negative " +
        "integers such as '0,2'). Usage: %makedip [-g all|GPU[,GPU...] | -c N] [-r | -k | -i]"
    );
    expect(error('%makedip --gpus 1,0,1')).toContain(
      'invalid --gpus value 1,0,1: GPU 1 is listed twice'
    );
  });

  it('keeps directives in source order, with the code between', () => {
    expect(parsed('%makedip -k\nx = 1\n%autodip on\n%makedip -c 2')).toEqual({
      dip: null,
      directives: [
        { ...start, action: 'kill' },
        { kind: 'autodip', on: true, options: { see: null, quiet: false } },
        { ...start, cpus: 2 }
      ],
      code: '\nx = 1\n\n',
      usesClient: false
    });
  });
});

describe('%load_ext', () => {
  it('blanks loading Ddip in any spelling, since its features are built in', () => {
    for (const name of ['Ddip', 'ddip', 'ddipp', 'DDIPP']) {
      expect(parsed(`%load_ext ${name}\nx = 1`).code).toBe('\nx = 1');
    }
    expect(parsed('%load_ext ddipp  # the extension').code).toBe('');
  });

  it('leaves other extensions alone', () => {
    expect(parsed('%load_ext autoreload').code).toBe('%load_ext autoreload');
    expect(parsed('%load_ext ddip_other').code).toBe('%load_ext ddip_other');
  });
});

describe('help', () => {
  it('prints the usage of each magic, keeping the indentation', () => {
    expect(parsed('%dipush?')).toEqual({
      dip: null,
      directives: [],
      code: `print(${JSON.stringify(USAGE.dipush)})`,
      usesClient: false
    });
    expect(parsed('%dipull?').code).toBe(`print(${JSON.stringify(USAGE.dipull)})`);
    expect(parsed('%autodip?').code).toBe(`print(${JSON.stringify(USAGE.autodip)})`);
    expect(parsed('x = 1\n  %makedip??').code).toBe(
      `x = 1\n  print(${JSON.stringify(USAGE.makedip)})`
    );
    expect(parsed('%dip?').code).toBe(`print(${JSON.stringify(USAGE.dip)})`);
  });

  it('has a usage whose first line is the synopsis', () => {
    expect(USAGE.dipull.split('\n')[0]).toBe('%dipull [-r RANK] NAME [NAME ...]');
    for (const usage of Object.values(USAGE)) {
      expect(usage).toMatch(/^%%?\w+ /);
    }
  });
});

describe('unknown magics', () => {
  it('refuses %dip… line magics it does not know, listing the known ones', () => {
    expect(error('x = 1\n%dipsh x')).toBe(
      "unknown magic %dipsh (Ddip's magics: %%dip, %dipush, %dipull, %autodip, %makedip)"
    );
    expect(error('%dip_locally')).toContain('unknown magic %dip_locally');
  });

  it('refuses the whole cell for one bad line', () => {
    const result: ParsedCell | MagicError = parseCell('%makedip -g all\n%dipush\nx = 1');
    expect(result).toEqual({ error: expect.stringContaining('%dipush: give at least one NAME') });
  });
});

describe('triple-quoted strings', () => {
  it('leave magic-looking lines inside them untouched', () => {
    const source = 'doc = """\n%dipush x\n%makedip -x\n"""\n%dipull y';
    expect(parsed(source).code).toBe(`doc = """\n%dipush x\n%makedip -x\n"""\n${pull("'y'")}`);
    const single = "s = f'''a\n%dipsh\n''' + '''b'''\n%dipush z";
    expect(parsed(single).code).toBe(`s = f'''a\n%dipsh\n''' + '''b'''\n${push("'z'")}`);
  });

  it('are not opened by quotes in comments or one-line strings', () => {
    const source = 'a = "\'\'\'"  # """\nb = \'\\\'"""\'\n%dipush a b';
    expect(parsed(source).code).toBe(`a = "'''"  # """\nb = '\\'"""'\n${push("'a', 'b'")}`);
  });

  it('count a string opened and closed on one line as closed', () => {
    expect(parsed('x = """one line"""\n%dipush x').usesClient).toBe(true);
  });
});

describe('line endings', () => {
  it('read magics on CRLF lines', () => {
    expect(parsed('%dipush a\r\nb = 1\r\n').code).toBe(`${push("'a'")}\nb = 1\r\n`);
    expect(parsed('%%dip everywhere\r\nx').dip?.mode).toBe('everywhere');
  });
});
