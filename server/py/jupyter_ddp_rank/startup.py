"""A rank kernel's start: a warm spare's imports, its rank's environment, torch, the process group."""

import faulthandler
import os
import sys

from jupyter_ddp_rank import compat, tuning


def warm():
    """A warm spare's start: import torch and torch.distributed, touching no GPU.

    CUDA reads CUDA_VISIBLE_DEVICES when it is first used; the rank's own environment is set
    (set_environment) before that, when the spare becomes a rank.
    """
    import torch
    import torch.distributed  # noqa: F401


def set_environment(env):
    """Give a warm spare its rank's torchrun environment (str to str)."""
    bad = [name for name, value in env.items() if not (isinstance(name, str) and isinstance(value, str))]
    if bad:
        raise TypeError(f"jupyter-ddp: environment variables must be strings: {', '.join(map(str, bad))}")
    os.environ.update(env)


def prepare():
    """Import torch on every rank at once, before rank 0 starts listening."""
    _history_in_memory()
    _last_words()
    tuning.tune(_shell().kernel, (sys.stdout, sys.stderr))
    info = {"pid": os.getpid(), "torch": None, "cuda": False, "error": None}
    try:
        import torch
        import torch.distributed  # noqa: F401

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.is_available()
    except Exception as err:  # a missing or a broken install alike
        info["error"] = f"{type(err).__name__}: {err}"
    return info


def init_process_group(backend, timeout, store, port):
    """torch.distributed through the rendezvous file `store`, MASTER_PORT set as torchrun sets it.

    `timeout`: seconds a collective may wait. jupyter_ddp_rank.compat makes the process group and
    lets pasted torchrun code's own init_process_group and destroy_process_group work.
    """
    import torch

    os.environ["MASTER_PORT"] = str(port)
    if backend == "nccl":
        # Like torchrun: every chosen GPU is visible and LOCAL_RANK picks this rank's.
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    compat.setup(backend, timeout, store)


def _shell():
    from IPython import get_ipython

    return get_ipython()


def _history_in_memory():
    """Keep In, Out and execution counts, but write no SQLite history.

    Every rank would write each cell to the same history file (~/.ipython/.../history.sqlite) from a
    thread of its own, contending for its lock: with 4 ranks on 2 cores that doubled a cell's
    round trip. The notebook is the record of what ran.
    """
    history = getattr(_shell(), "history_manager", None)
    if history is not None and history.enabled:
        history.enabled = False
        if history.save_thread is not None:
            history.save_thread.stop()


def _last_words():
    """Have a fatal error (a segfault, an abort) print its Python traceback where the server reads.

    ipykernel sends what is written to fd 2 to the notebook through a pipe and a thread of its own,
    which die with the process before they pass the last words on; the server reads the kernel's
    real stderr to the end, and names them when the rank dies.
    """
    fd = getattr(sys.stderr, "_original_stdstream_copy", None)
    if fd is None:
        fd = sys.__stderr__.fileno()
    faulthandler.enable(file=os.fdopen(os.dup(fd), "w"), all_threads=False)
