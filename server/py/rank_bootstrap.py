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


def _ddp_listen(timeout_seconds):
    """Rank 0: start the rendezvous store on a port the OS picks, and say which.

    A port chosen free beforehand could be taken by any process before rank 0 listens on it (a
    kernel starting meanwhile, say); one the OS hands to a listening socket cannot.
    """
    import datetime
    import os

    from torch.distributed import TCPStore

    store = TCPStore(
        os.environ["MASTER_ADDR"],
        0,
        int(os.environ["WORLD_SIZE"]),
        True,
        datetime.timedelta(seconds=timeout_seconds),
        wait_for_workers=False,
    )
    # Kept until _ddp_init_process_group, which gives it to the process group (which keeps it).
    globals()["_ddp_rendezvous_store"] = store
    return _ddp_result({"port": store.port})


def _ddp_init_process_group(backend, timeout_seconds, port):
    """torch.distributed on the store rank 0 listens on, MASTER_PORT set as torchrun sets it."""
    import datetime
    import os

    import torch
    import torch.distributed as dist

    os.environ["MASTER_PORT"] = str(port)
    if backend == "nccl":
        # Like torchrun: every chosen GPU is visible and LOCAL_RANK picks this rank's.
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    if not dist.is_initialized():
        timeout = datetime.timedelta(seconds=timeout_seconds)
        rank = int(os.environ["RANK"])
        world_size = int(os.environ["WORLD_SIZE"])
        store = globals().pop("_ddp_rendezvous_store", None)
        if store is None:
            store = dist.TCPStore(os.environ["MASTER_ADDR"], port, world_size, False, timeout)
        dist.init_process_group(
            backend=backend, store=store, rank=rank, world_size=world_size, timeout=timeout
        )
    return _ddp_result({"rank": dist.get_rank(), "world_size": dist.get_world_size()})
