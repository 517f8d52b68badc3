"""torch.distributed as pasted torchrun scripts expect it, on ranks whose process group we made.

The module jupyter_ddp_rank.compat, whose setup() startup.init_process_group calls. Tutorials call
`init_process_group(...)` in a setup() and `destroy_process_group()` in a cleanup(); torchrun
scripts call it at the top:

- a compatible `init_process_group` (this group's world size and rank, env:// or tcp:// or no init
  method, no store of its own) while the group exists does nothing but say so in one line;
- after `destroy_process_group()`, the next `init_process_group()`, or the next cell run on every
  rank, initialises the group again through the same rendezvous;
- anything else (another world size, a file:// store, a store of its own) is refused with why;
- torchrun's variables keep naming our group: a setup() that sets MASTER_PORT=12355 is undone.

The rendezvous is a torch FileStore in the server's private (0700) runtime folder: nothing listens
on any interface for it; the gloo and NCCL sockets are held to loopback by GLOO_SOCKET_IFNAME and
NCCL_SOCKET_IFNAME, set in the rank's environment.
"""

import datetime
import os
import sys

TORCHRUN_VARIABLES = (
    "MASTER_ADDR",
    "MASTER_PORT",
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "GROUP_RANK",
)

_group = None


class _Group:
    def __init__(self, backend, timeout_seconds, store_path):
        import torch.distributed as dist

        self.backend = backend
        self.timeout = datetime.timedelta(seconds=timeout_seconds)
        self.rank = int(os.environ["RANK"])
        self.world_size = int(os.environ["WORLD_SIZE"])
        self.store = dist.FileStore(store_path, self.world_size)
        self.environment = {name: os.environ[name] for name in TORCHRUN_VARIABLES if name in os.environ}
        self.generation = 0

    def initialise(self, **newer):
        """The default process group, on a fresh prefix of the same rendezvous store."""
        import torch.distributed as dist

        store = dist.PrefixStore(f"jupyter-ddp/{self.generation}", self.store)
        _original_init(
            backend=self.backend,
            store=store,
            rank=self.rank,
            world_size=self.world_size,
            timeout=self.timeout,
            **newer,
        )
        # Counted once made: an init that failed here leaves the next one on the same prefix,
        # which the ranks that did not get as far are still to use.
        self.generation += 1

    def restore_environment(self):
        os.environ.update(self.environment)

    def refusal(self, backend, init_method, world_size, rank, store):
        """Why a user's init_process_group cannot use this group, or None when it can."""
        if store is not None:
            return "the ranks already share a rendezvous store; call init_process_group() without store="
        if init_method and not str(init_method).startswith(("env://", "tcp://")):
            return (
                f"init_method={init_method!r} would make a second rendezvous; on these ranks call "
                "init_process_group() with no init_method (or env://)"
            )
        if world_size not in (-1, None) and int(world_size) != self.world_size:
            return (
                f"world_size={world_size} but this group has {self.world_size} ranks; restart the group "
                f"with {world_size} ranks (DDP status bar, or %makedip), or pass world_size={self.world_size}"
            )
        if rank not in (-1, None) and int(rank) != self.rank:
            return f"rank={rank} but this kernel is rank {self.rank}; pass rank=int(os.environ['RANK'])"
        if backend and str(backend).lower() != self.backend:
            return (
                f"backend={backend!r} but this group's ranks run {self.backend}"
                + (" (CPU ranks have no NCCL: use 'gloo')" if self.backend == "gloo" else "")
            )
        return None


# torch's own init_process_group, kept when ours takes its place.
_original_init = None


def init_process_group(
    backend=None,
    init_method=None,
    timeout=None,
    world_size=-1,
    rank=-1,
    store=None,
    group_name="",
    pg_options=None,
    **newer,
):
    """torch.distributed.init_process_group on a jupyter-ddp rank (see the module's doc).

    `newer`: arguments of later torch versions (device_id), passed on when the group is made again.
    """
    import torch.distributed as dist

    _group.restore_environment()  # a setup() that set MASTER_PORT=12355 before calling us
    problem = _group.refusal(backend, init_method, world_size, rank, store)
    if problem:
        raise RuntimeError(f"jupyter-ddp: {problem}")
    if dist.is_initialized():
        print(
            f"jupyter-ddp: the process group is already initialised ({_group.backend}, "
            f"{_group.world_size} ranks); init_process_group() does nothing here",
            file=sys.stderr,
        )
        return
    _group.initialise(**newer)


def _before_cell(*_args):
    """A cell run on every rank finds a process group, even after destroy_process_group()."""
    import torch.distributed as dist

    if dist.is_initialized():
        return
    from IPython import get_ipython

    kernel = get_ipython().kernel
    get_parent = getattr(kernel, "get_parent", None)  # ipykernel 6; 5 keeps it in _parent_header
    parent = get_parent() if get_parent else getattr(kernel, "_parent_header", {})
    if (parent.get("metadata") or {}).get("jupyterDdpAllRanks"):
        _group.initialise()


def setup(backend, timeout_seconds, store_path):
    """Make the group's process group, and have torch.distributed's init reuse it."""
    global _group, _original_init
    import torch.distributed as dist
    import torch.distributed.distributed_c10d as c10d
    from IPython import get_ipython

    _group = _Group(backend, timeout_seconds, store_path)
    if _original_init is None:
        _original_init = c10d.init_process_group
        c10d.init_process_group = init_process_group
        dist.init_process_group = init_process_group
        get_ipython().events.register("pre_run_cell", _before_cell)
    if not dist.is_initialized():
        _group.initialise()
    return dist.get_rank(), dist.get_world_size()
