/** Server diagnostics go to stderr, one prefixed line each; JUPYTER_DDP_QUIET=1 silences warnings. */
export function warn(message: string): void {
  if (!process.env.JUPYTER_DDP_QUIET) {
    process.stderr.write(`jupyter-ddp: ${message}\n`);
  }
}
