import * as fs from 'node:fs';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../package-root';

const PY_DIR = path.join(PACKAGE_ROOT, 'server', 'py');

/** [module name, file under server/py, source]: what server/py/install_modules.py takes. */
type ModuleSource = [string, string, string];

function source(file: string): string {
  return fs.readFileSync(path.join(PY_DIR, file), 'utf8');
}

/**
 * The module `name` of server/py: the file `name.py`, or the package in the folder `name/`, its
 * modules first and its `__init__.py` last (as importing it runs them).
 */
function moduleSources(name: string): ModuleSource[] {
  if (!fs.statSync(path.join(PY_DIR, name), { throwIfNoEntry: false })?.isDirectory()) {
    return [[name, `${name}.py`, source(`${name}.py`)]];
  }
  const modules = fs
    .readdirSync(path.join(PY_DIR, name))
    .filter(file => file.endsWith('.py') && file !== '__init__.py')
    .sort()
    .map((file): ModuleSource => {
      const relative = `${name}/${file}`;
      return [`${name}.${file.slice(0, -'.py'.length)}`, relative, source(relative)];
    });
  return [...modules, [name, `${name}/__init__.py`, source(`${name}/__init__.py`)]];
}

const INSTALLER = source('install_modules.py');

/**
 * Python that puts the named modules of server/py (files, or package folders) into a kernel's
 * sys.modules, leaving no name in its user namespace. `replace`: make them again even where they
 * are (a new client); else they are kept where all are there (a rank's module and its state).
 */
export function installModulesCode(names: string[], replace: boolean): string {
  const globals = `{"MODULES": ${JSON.stringify(names.flatMap(moduleSources))}, "REPLACE": ${replace ? 'True' : 'False'}}`;
  return `exec(${JSON.stringify(INSTALLER)}, ${globals})`;
}
