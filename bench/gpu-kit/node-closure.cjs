// The npm packages the kit's Node code needs, as folders relative to the repository root: what
// loading the server (its CLI, the group engine, the kernel API) and bench/lib.mjs's `ws` puts in
// require.cache, then everything those packages declare as dependencies (some load lazily).
// Also the native addons loaded, so that the build keeps only those of a package's prebuilt ones.
// Run by bench/gpu-kit/build from the repository root: `node bench/gpu-kit/node-closure.cjs`.
const fs = require('node:fs');
const path = require('node:path');

const root = process.cwd();
for (const entry of [
  'server-lib/server/cli/main.js',
  'server-lib/server/group/group.js',
  'server-lib/server/http/kernel-api.js',
  'server-lib/server/kernel/kernel.js'
]) {
  require(path.join(root, entry));
}
require(require.resolve('ws', { paths: [root] }));
require(require.resolve('zeromq', { paths: [root] }));

/** The package folder (under node_modules) holding `file`, or null. */
function packageDir(file) {
  for (let dir = path.dirname(file); dir.includes(`${path.sep}node_modules${path.sep}`);) {
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      return dir;
    }
    dir = path.dirname(dir);
  }
  return null;
}

const loaded = Object.keys(require.cache);
const dirs = new Set(loaded.map(packageDir).filter(Boolean));
const queue = [...dirs];
while (queue.length > 0) {
  const dir = queue.pop();
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const wanted = { ...manifest.dependencies, ...manifest.optionalDependencies };
  for (const name of Object.keys(wanted)) {
    let found;
    try {
      found = packageDir(require.resolve(`${name}/package.json`, { paths: [dir] }));
    } catch {
      continue; // an optional dependency not installed, or one exporting no package.json
    }
    if (found && !dirs.has(found)) {
      dirs.add(found);
      queue.push(found);
    }
  }
}
const rel = p => path.relative(root, p);
process.stdout.write(
  JSON.stringify({
    packages: [...dirs].map(rel).sort(),
    addons: loaded.filter(f => f.endsWith('.node')).map(rel)
  }) + '\n'
);
