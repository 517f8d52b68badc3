"""Defined silently in every rank kernel when a DDP group starts; called by the jupyter-ddp server.

Results come back base64-encoded JSON through user_expressions, so nothing shows in the notebook.
"""


def _ddp_result(value):
    import base64
    import json

    return base64.b64encode(json.dumps(value).encode()).decode()


def _ddp_prepare():
    """Import torch on every rank at once, before rank 0 starts listening."""
    import os

    info = {"pid": os.getpid(), "torch": None, "cuda": False, "error": None}
    try:
        import torch
        import torch.distributed

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.is_available()
    except Exception as err:  # a missing or a broken install alike
        info["error"] = f"{type(err).__name__}: {err}"
    return _ddp_result(info)


def _ddp_init_process_group(backend, timeout_seconds):
    """torch.distributed from torchrun's environment variables (env://)."""
    import datetime
    import os

    import torch
    import torch.distributed as dist

    if backend == "nccl":
        # Like torchrun: every chosen GPU is visible and LOCAL_RANK picks this rank's.
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    if not dist.is_initialized():
        dist.init_process_group(
            backend=backend, init_method="env://", timeout=datetime.timedelta(seconds=timeout_seconds)
        )
    return _ddp_result({"rank": dist.get_rank(), "world_size": dist.get_world_size()})
