"""Rank side of push, pull and ddp.run (with ddp_values.py); called by the jupyter-ddp server.

A push is two-phase so that it is all or nothing: every rank loads the values into a staging area
(_ddp_stage), and only once all have succeeded does each put them in its namespace (_ddp_commit);
otherwise each drops them (_ddp_discard).
"""

# The server runs this file again before each call: keep what is staged across those runs.
_ddp_staged = globals().get("_ddp_staged", {})


def _ddp_namespace():
    from IPython import get_ipython

    return get_ipython().user_ns


def _ddp_error_text(err):
    return f"{type(err).__name__}: {err}"


def _ddp_stage(path, txn):
    """Load a pushed file, keeping its values aside until _ddp_commit(txn)."""
    try:
        _ddp_staged[txn] = _ddp_load(path)
    except Exception as err:
        return _ddp_result({"error": _ddp_error_text(err)})
    return _ddp_result({"names": sorted(_ddp_staged[txn])})


def _ddp_commit(txn):
    _ddp_namespace().update(_ddp_staged.pop(txn))
    return _ddp_result({"ok": True})


def _ddp_discard(txn):
    _ddp_staged.pop(txn, None)
    return _ddp_result({"ok": True})


def _ddp_dump_names(names):
    """Write the named values of this rank to a transfer file for the notebook kernel to read."""
    import os

    namespace = _ddp_namespace()
    missing = [name for name in names if name not in namespace]
    if missing:
        rank = os.environ.get("RANK", "?")
        listed = ", ".join(missing)
        return _ddp_result({"error": f"name {listed} is not defined on rank {rank}", "missing": missing})
    values = {name: namespace[name] for name in names}
    # A DistributedDataParallel cannot be rebuilt where there is no process group (the notebook):
    # its module is what the notebook can use.
    unwrapped = [name for name, value in values.items() if _ddp_is_ddp_wrapper(value)]
    for name in unwrapped:
        values[name] = values[name].module
    try:
        return _ddp_result({"file": _ddp_dump(values, "pull"), "unwrapped": unwrapped})
    except ValueError as err:
        return _ddp_result({"error": str(err)})


def _ddp_is_ddp_wrapper(value):
    import sys

    parallel = getattr(getattr(sys.modules.get("torch"), "nn", None), "parallel", None)
    wrapper = getattr(parallel, "DistributedDataParallel", None)
    return wrapper is not None and isinstance(value, wrapper)


class _DdpRankFirstGlobals(dict):
    """Globals of a notebook function run on a rank: what it assigns, then the rank's namespace,
    then what it brought from the notebook. CPython looks globals up through __getitem__ when they
    are not a plain dict."""

    def __init__(self, namespace, brought):
        super().__init__(__builtins__=namespace.get("__builtins__", __builtins__))
        self._namespace = namespace
        self._brought = brought

    def __getitem__(self, name):
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        if name in self._namespace:
            return self._namespace[name]
        return self._brought[name]


def _ddp_rank_first(fn):
    """A notebook-defined function that finds names defined on the rank (as ipyparallel's
    @interactive functions do), and whose `global x = ...` assignments land there; anything else
    unchanged."""
    import functools
    import types

    if not isinstance(fn, types.FunctionType) or fn.__module__ != "__main__":
        return fn
    namespace = _ddp_namespace()
    scope = _DdpRankFirstGlobals(namespace, fn.__globals__)
    rebound = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
    rebound.__kwdefaults__ = fn.__kwdefaults__
    rebound.__dict__.update(fn.__dict__)

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return rebound(*args, **kwargs)
        finally:
            # STORE_GLOBAL writes into the scope's own dict: pass those names on to the rank.
            namespace.update({k: v for k, v in dict.items(scope) if k != "__builtins__"})

    return call


def _ddp_call(path):
    """Run a pushed (fn, args, kwargs) here: the result goes to a new transfer file, or the error
    (with its traceback) comes back; what fn prints comes back too."""
    import contextlib
    import io
    import traceback

    output = io.StringIO()
    try:
        call = _ddp_load(path)
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            value = _ddp_rank_first(call["fn"])(*call["args"], **call["kwargs"])
    except BaseException as err:  # KeyboardInterrupt included: the caller sees which rank stopped
        return _ddp_result(
            {
                "error": _ddp_error_text(err),
                "traceback": "".join(traceback.format_exception(type(err), err, err.__traceback__)),
                "output": output.getvalue(),
            }
        )
    try:
        return _ddp_result({"file": _ddp_dump({"value": value}, "result"), "output": output.getvalue()})
    except ValueError as err:
        return _ddp_result({"error": f"the result {err}", "output": output.getvalue()})
