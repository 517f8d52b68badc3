"""Make a rank kernel's per-cell overhead small; applied once, by startup.prepare.

With 4 ranks on 2 cores, ipykernel's own work for a `pass` cell (about 5 ms of CPU a rank) set the
round trip. Each change below keeps what a cell does and what the server sees, and is skipped
where this ipykernel or jupyter_client lacks what it changes (they are private parts).
"""

import datetime


def tune(kernel, streams):
    """Tune the ipykernel `kernel` and its output `streams` (sys.stdout and sys.stderr)."""
    # ipykernel sleeps 0.5 ms after every execute "to let output flush"; it flushes before idle.
    if hasattr(kernel, "_execute_sleep"):
        kernel._execute_sleep = 0

    # The server is a rank's only client, and it has no use for the broadcast of each cell's code.
    if hasattr(kernel, "_publish_execute_input"):
        kernel._publish_execute_input = lambda *args, **kwargs: None

    # Before each shell message, ipykernel waits for a round trip through its control thread, so
    # that control messages sent earlier (debugger requests) go first; ranks get none but
    # shutdown and interrupt, which need no such order.
    if hasattr(kernel, "_flush_control_queue"):
        kernel._flush_control_queue = nothing_to_wait_for

    # Debug records are built for every message, then dropped by a handler at WARNING.
    log = kernel.log
    levels = [handler.level for handler in log.handlers]
    if levels and log.level < min(levels):
        log.setLevel(min(levels))

    # Flushing stdout and stderr at the end of a cell waits for a round trip through the iopub
    # thread, twice, even with nothing to flush; skip it then.
    for stream in streams:
        if hasattr(stream, "_flush_pending") and hasattr(stream, "_buffer"):
            stream.flush = flush_if_pending(stream, stream.flush)

    # Whether do_execute takes cell_id, found with inspect.signature on every execute_request.
    try:
        import ipykernel.kernelbase as kernelbase

        if not hasattr(kernelbase._accepts_cell_id, "_ddp_cached"):
            kernelbase._accepts_cell_id = cached_by_function(kernelbase._accepts_cell_id)
    except (ImportError, AttributeError):
        pass

    # Message dates are parsed with dateutil (about 0.5 ms each); fromisoformat reads them alike.
    try:
        import jupyter_client.jsonutil as jsonutil

        if not hasattr(jsonutil.parse_date, "_ddp_fast"):
            jsonutil.parse_date = fast_parse_date(jsonutil.parse_date)
    except (ImportError, AttributeError):
        pass


async def nothing_to_wait_for():
    return None


def flush_if_pending(stream, flush):
    def flush_if_pending():
        # Nothing written since the last flush began: there is nothing to wait for.
        if stream._flush_pending or stream._buffer.tell():
            flush()

    return flush_if_pending


def cached_by_function(accepts):
    """`accepts(method)`, asked once per function."""
    cache = {}

    def cached(method):
        key = getattr(method, "__func__", method)
        if key not in cache:
            cache[key] = accepts(method)
        return cache[key]

    cached._ddp_cached = True
    return cached


def fast_parse_date(slow):
    """`slow` (jupyter_client's parse_date), with datetime.fromisoformat first for aware dates."""

    def parse_date(value):
        if isinstance(value, str):
            try:
                parsed = datetime.datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return parsed
        return slow(value)

    parse_date._ddp_fast = True
    return parse_date
