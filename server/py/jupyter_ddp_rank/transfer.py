"""A rank's side of push, pull and ddp.run, through transfer files (jupyter_ddp_values).

A push is two-phase so that it is all or nothing: every rank loads the values into a staging area
(stage), and only once all have succeeded does each put them in its namespace (commit); otherwise
each drops them (discard). The staging area is this module's: a `%reset` on the rank keeps it.
"""

import contextlib
import functools
import io
import os
import sys
import traceback
import types

import jupyter_ddp_values as transfer_files

#: Values loaded by stage(), by transaction, until commit() or discard().
STAGED = {}


def stage(file, txn):
    """Load a pushed file, keeping its values aside until commit(txn)."""
    try:
        STAGED[txn] = transfer_files.load(file)
    except Exception as err:
        return {"error": _error_text(err)}
    return {"names": sorted(STAGED[txn])}


def commit(txn):
    """Put the values staged by `txn` in the rank's namespace."""
    if txn not in STAGED:
        raise KeyError(f"jupyter-ddp: nothing is staged for push {txn} on this rank")
    _namespace().update(STAGED.pop(txn))


def discard(txn):
    STAGED.pop(txn, None)


def pull(names):
    """Write the named values of this rank to a transfer file for the notebook kernel to read."""
    namespace = _namespace()
    missing = [name for name in names if name not in namespace]
    if missing:
        rank = os.environ.get("RANK", "?")
        listed = ", ".join(missing)
        return {"error": f"name {listed} is not defined on rank {rank}", "missing": missing}
    values = {name: namespace[name] for name in names}
    # A DistributedDataParallel cannot be rebuilt where there is no process group (the notebook):
    # its module is what the notebook can use.
    unwrapped = [name for name, value in values.items() if _is_ddp_wrapper(value)]
    for name in unwrapped:
        values[name] = values[name].module
    try:
        return {"file": transfer_files.dump(values, "pull"), "unwrapped": unwrapped}
    except ValueError as err:
        return {"error": str(err)}


def run(file):
    """Run a pushed (fn, args, kwargs) here: the result goes to a new transfer file, or the error
    (with its traceback) comes back; what fn prints comes back too."""
    output = io.StringIO()
    try:
        call = transfer_files.load(file)
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            value = rank_first(call["fn"])(*call["args"], **call["kwargs"])
    except BaseException as err:  # KeyboardInterrupt included: the caller sees which rank stopped
        return {
            "error": _error_text(err),
            "traceback": "".join(traceback.format_exception(type(err), err, err.__traceback__)),
            "output": output.getvalue(),
        }
    try:
        return {"file": transfer_files.dump({"value": value}, "result"), "output": output.getvalue()}
    except ValueError as err:
        return {"error": f"the result {err}", "output": output.getvalue()}


class RankFirstGlobals(dict):
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


def rank_first(fn):
    """A notebook-defined function that finds names defined on the rank (as ipyparallel's
    @interactive functions do), and whose `global x = ...` assignments land there; anything else
    unchanged."""
    if not isinstance(fn, types.FunctionType) or fn.__module__ != "__main__":
        return fn
    namespace = _namespace()
    scope = RankFirstGlobals(namespace, fn.__globals__)
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


def _namespace():
    from IPython import get_ipython

    return get_ipython().user_ns


def _error_text(err):
    return f"{type(err).__name__}: {err}"


def _is_ddp_wrapper(value):
    parallel = getattr(getattr(sys.modules.get("torch"), "nn", None), "parallel", None)
    wrapper = getattr(parallel, "DistributedDataParallel", None)
    return wrapper is not None and isinstance(value, wrapper)
