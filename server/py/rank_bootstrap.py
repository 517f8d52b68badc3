"""Defined silently in every rank kernel when a DDP group starts; called by the jupyter-ddp server.

Results come back base64-encoded JSON through user_expressions, so nothing shows in the notebook.
"""


def _ddp_result(value):
    import base64
    import json

    return base64.b64encode(json.dumps(value).encode()).decode()


def _ddp_history_in_memory():
    """Keep In, Out and execution counts, but write no SQLite history.

    Every rank would write each cell to the same history file (~/.ipython/.../history.sqlite) from a
    thread of its own, contending for its lock: with 4 ranks on 2 cores that doubled a cell's
    round trip. The notebook is the record of what ran.
    """
    from IPython import get_ipython

    shell = get_ipython()
    history = getattr(shell, "history_manager", None)
    if history is not None and history.enabled:
        history.enabled = False
        if history.save_thread is not None:
            history.save_thread.stop()


def _ddp_last_words():
    """Have a fatal error (a segfault, an abort) print its Python traceback where the server reads.

    ipykernel sends what is written to fd 2 to the notebook through a pipe and a thread of its own,
    which die with the process before they pass the last words on; the server reads the kernel's
    real stderr to the end, and names them when the rank dies.
    """
    import faulthandler
    import os
    import sys

    fd = getattr(sys.stderr, "_original_stdstream_copy", None)
    if fd is None:
        fd = sys.__stderr__.fileno()
    faulthandler.enable(file=os.fdopen(os.dup(fd), "w"), all_threads=False)


def _ddp_prepare():
    """Import torch on every rank at once, before rank 0 starts listening."""
    import os

    _ddp_history_in_memory()
    _ddp_last_words()
    _ddp_tune_rank_kernel()
    info = {"pid": os.getpid(), "torch": None, "cuda": False, "error": None}
    try:
        import torch
        import torch.distributed

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.is_available()
    except Exception as err:  # a missing or a broken install alike
        info["error"] = f"{type(err).__name__}: {err}"
    return _ddp_result(info)


def _ddp_warm():
    """A warm spare's start: import torch and torch.distributed, touching no GPU.

    CUDA reads CUDA_VISIBLE_DEVICES when it is first used; the rank's own environment is set
    (_ddp_set_environment) before that, when the spare becomes a rank.
    """
    import torch
    import torch.distributed

    return torch.__version__


def _ddp_set_environment(encoded):
    """Give a warm spare its rank's torchrun environment (base64-encoded JSON of str to str)."""
    import base64
    import json
    import os

    os.environ.update(json.loads(base64.b64decode(encoded)))
    return os.environ["RANK"]


def _ddp_init_process_group(backend, timeout_seconds, store_path, port, compat_source):
    """torch.distributed through the rendezvous file `store_path`, MASTER_PORT set as torchrun sets it.

    The module jupyter_ddp_rank (rank_compat.py, passed as `compat_source`) makes the process group
    and lets pasted torchrun code's own init_process_group and destroy_process_group work.
    """
    import os
    import sys
    import types

    import torch

    os.environ["MASTER_PORT"] = str(port)
    if backend == "nccl":
        # Like torchrun: every chosen GPU is visible and LOCAL_RANK picks this rank's.
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    module = sys.modules.get("jupyter_ddp_rank")
    if module is None:
        module = types.ModuleType("jupyter_ddp_rank")
        exec(compile(compat_source, "<jupyter-ddp rank_compat>", "exec"), module.__dict__)
        sys.modules["jupyter_ddp_rank"] = module
    rank, world_size = module.setup(backend, timeout_seconds, store_path)
    return _ddp_result({"rank": rank, "world_size": world_size})
