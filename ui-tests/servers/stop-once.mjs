// A test server script's child leads its own process group (spawned `detached`): Playwright's
// SIGINT or SIGTERM to the script reaches it once, from here, as SIGTERM; a second signal would
// interrupt the cleanup of the first. The script exits as the child does.
export function stopWithUs(child) {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      if (!stopping) {
        stopping = true;
        child.kill('SIGTERM');
      }
    });
  }
  child.on('exit', code => process.exit(code ?? 1));
}
