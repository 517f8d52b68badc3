// Stages what the Python wheel carries besides jupyterlab_ddp/ (see pyproject.toml), from what
// `npm run build` made: build/python/server (the Node DDP server with only the npm packages it
// runs on) and build/python/lab (the bundled JupyterLab, without source maps).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'build', 'python');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
/** The npm packages server-lib/ requires (a unit test keeps this list complete). */
export const SERVER_DEPENDENCIES = ['ajv', 'commander', 'express', 'http-proxy', 'ws', 'zeromq'];

/** A copy filter that leaves out what matches, tested on paths inside the checkout. */
const skip =
  (...patterns) =>
  src =>
    !patterns.some(p => p.test(path.relative(ROOT, src)));
/** What no package needs at run time: types, source maps, docs, tests. */
const NOT_RUN = [/\.d\.[cm]?ts$/, /\.map$/, /\.md$/, /(^|\/)(tests?|__tests__)(\/|$)/];

function copy(from, to, filter = () => true) {
  fs.cpSync(path.join(ROOT, from), path.join(OUT, to), { recursive: true, filter });
}

/** `name` and everything it depends on, as Node would resolve them from `fromDir`, copied in place. */
function copyPackage(name, fromDir, seen) {
  // Node's own search path, walked by hand: `exports` may hide a package's package.json
  const lookup = createRequire(path.join(fromDir, 'noop.js')).resolve.paths(name) ?? [];
  const dir = lookup
    .map(p => path.join(p, name))
    .find(d => fs.existsSync(path.join(d, 'package.json')));
  if (!dir) {
    return; // an optional dependency that is not installed
  }
  const pkgJson = path.join(dir, 'package.json');
  if (seen.has(dir)) {
    return;
  }
  seen.add(dir);
  // zeromq ships prebuilt binaries for every platform: this one's suffice
  const foreign = ['darwin', 'win32', 'linux'].filter(p => p !== process.platform);
  copy(
    path.relative(ROOT, dir),
    path.join('server', path.relative(ROOT, dir)),
    skip(
      ...foreign.map(p => new RegExp(`zeromq/build/${p}`)),
      /(^|\/)node_modules\/\.bin/,
      ...NOT_RUN
    )
  );
  const pkg = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
    copyPackage(dep, dir, seen);
  }
}

fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(path.join(OUT, 'server'), { recursive: true });
fs.writeFileSync(
  path.join(OUT, 'server', 'package.json'),
  JSON.stringify({ name: manifest.name, version: manifest.version, private: true }, null, 2)
);
copy('bin', 'server/bin');
copy('server-lib', 'server/server-lib', skip(...NOT_RUN, /tsbuildinfo$/));
copy('server/py', 'server/server/py', skip(...NOT_RUN, /__pycache__/));
const seen = new Set();
for (const dep of SERVER_DEPENDENCIES) {
  copyPackage(dep, ROOT, seen);
}
copy('lab/app.py', 'lab/app.py');
for (const part of ['core/package.json', 'schemas', 'settings', 'static', 'templates', 'themes']) {
  copy(path.join('lab', 'build', part), path.join('lab', 'build', part), skip(/\.map$/));
}
process.stdout.write(
  `stage-python: staged ${path.relative(ROOT, OUT)}/ (${seen.size} npm packages)\n`
);
