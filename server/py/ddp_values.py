"""Values between the notebook kernel and the rank kernels, through a private file in shared memory.

Loaded into both sides: the notebook kernel's client (ddp_client.py) and every rank
(rank_transfer.py). A file holds one pickle (protocol 5) of a dict, whose large buffers (numpy
arrays, torch tensors) are stored out of band after it, each page-aligned: the reader maps the file
copy-on-write and builds its arrays over the mapping, so N ranks share one copy in memory until
they write to it, and a 1 GiB array is not copied at all on the way in.

Functions, lambdas and classes defined in the notebook are pickled by value with cloudpickle when it
is importable. Torch tensors travel as raw bytes and land on the receiver's own device: a CUDA
tensor on the rank's GPU (LOCAL_RANK), on CPU where there is no GPU.
"""

_DDP_MAGIC = b"JDDPVAL1"
_DDP_ALIGN = 4096
_DDP_PREFIX = "jupyter-ddp-"


def _ddp_transfer_dir():
    """Shared memory where there is some, else the temporary folder."""
    import os
    import tempfile

    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


def _ddp_new_file(tag):
    """A new private (0600) file for one transfer; the caller writes it and someone deletes it."""
    import os
    import secrets

    path = os.path.join(_ddp_transfer_dir(), f"{_DDP_PREFIX}{tag}-{os.getpid()}-{secrets.token_hex(8)}")
    return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _ddp_tensor_types():
    import sys

    torch = sys.modules.get("torch")  # never import torch just to send a dict
    return (torch, (torch.Tensor, torch.nn.Parameter)) if torch is not None else (None, ())


def _ddp_pickler_class():
    """cloudpickle's pickler where importable (notebook-defined code by value), else pickle's."""
    import pickle

    try:
        import cloudpickle

        base = cloudpickle.CloudPickler
    except ImportError:
        base = pickle.Pickler

    torch, tensor_types = _ddp_tensor_types()

    class Pickler(base):
        def persistent_id(self, obj):
            # Tensors as raw bytes (out of band), so that none is copied through torch.save and a
            # CUDA tensor is not rebuilt on the sender's GPU index.
            if tensor_types and type(obj) in tensor_types and obj.layout == torch.strided:
                flat = obj.detach().contiguous().reshape(-1).view(torch.uint8).cpu().numpy()
                return (
                    "ddp-tensor",
                    flat,
                    str(obj.dtype).replace("torch.", ""),
                    tuple(obj.shape),
                    obj.device.type,
                    obj.requires_grad,
                    isinstance(obj, torch.nn.Parameter),
                )
            return None

    return Pickler


def _ddp_unpickler_class():
    import pickle

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            if not (isinstance(pid, tuple) and pid and pid[0] == "ddp-tensor"):
                raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
            import os

            import torch

            _, flat, dtype, shape, device, requires_grad, parameter = pid
            tensor = torch.from_numpy(flat).view(getattr(torch, dtype)).reshape(shape)
            if device == "cuda" and torch.cuda.is_available():
                tensor = tensor.to(torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))))
            if parameter:
                return torch.nn.Parameter(tensor, requires_grad=requires_grad)
            return tensor.requires_grad_(requires_grad) if requires_grad else tensor

    return Unpickler


def _ddp_dump(values, tag):
    """Write `values` (a dict) to a new transfer file; gives its path. Raises ValueError naming the
    value that cannot be sent, and leaves no file behind."""
    import io
    import os
    import struct

    pickler_class = _ddp_pickler_class()
    buffers = []
    payload = io.BytesIO()
    try:
        pickler_class(payload, protocol=5, buffer_callback=buffers.append).dump(values)
    except Exception as err:
        raise ValueError(_ddp_cannot_send(values, pickler_class, err)) from None
    path, fd = _ddp_new_file(tag)
    try:
        with os.fdopen(fd, "wb") as f:
            raws = [b.raw() for b in buffers]
            header = struct.pack("<8sQQ", _DDP_MAGIC, len(payload.getbuffer()), len(raws))
            header += b"".join(struct.pack("<Q", r.nbytes) for r in raws)
            f.write(header)
            f.write(payload.getbuffer())
            for raw in raws:
                f.write(b"\0" * (-f.tell() % _DDP_ALIGN))
                f.write(raw)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _ddp_cannot_send(values, pickler_class, err):
    """Which value failed to pickle, and what to do about it."""
    import io
    import pickle

    for name, value in values.items():
        try:
            pickler_class(io.BytesIO(), protocol=5, buffer_callback=lambda b: None).dump(value)
        except Exception as one:
            err = one
            break
    else:
        name = None
    what = f"`{name}`" if name is not None else "these values"
    if pickler_class.__mro__[1] is pickle.Pickler and _ddp_defined_in_notebook(values.get(name)):
        return (
            f"cannot send {what}: it is defined in the notebook, and sending such functions and"
            " classes needs cloudpickle (apt install python3-cloudpickle)"
        )
    return f"cannot send {what}: {type(err).__name__}: {err}"


def _ddp_defined_in_notebook(value):
    return getattr(value, "__module__", None) == "__main__"


def _ddp_load(path):
    """Read a transfer file (mapped copy-on-write: arrays in it are writable and private)."""
    import mmap
    import os
    import struct

    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        mapped = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
    view = memoryview(mapped)
    magic, payload_len, count = struct.unpack_from("<8sQQ", view, 0)
    if magic != _DDP_MAGIC:
        raise ValueError(f"{path} is not a jupyter-ddp transfer file")
    sizes = struct.unpack_from(f"<{count}Q", view, 24)
    offset = 24 + 8 * count
    payload = view[offset : offset + payload_len]
    offset += payload_len
    buffers = []
    for nbytes in sizes:
        offset += -offset % _DDP_ALIGN
        buffers.append(view[offset : offset + nbytes])
        offset += nbytes
    import io

    return _ddp_unpickler_class()(io.BytesIO(payload), buffers=buffers).load()


def _ddp_remove(path):
    import contextlib
    import os

    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
