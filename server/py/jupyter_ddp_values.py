"""Values between the notebook kernel and the rank kernels, through a private file in shared memory.

The module jupyter_ddp_values on both sides: in the notebook kernel for its client (jupyter_ddp),
on every rank for jupyter_ddp_rank.transfer. A file holds one pickle (protocol 5) of a dict, whose
large buffers (numpy arrays, torch tensors) are stored out of band after it, each page-aligned: the
reader maps the file copy-on-write and builds its arrays over the mapping, so N ranks share one copy
in memory until they write to it, and a 1 GiB array is not copied at all on the way in.

Functions, lambdas and classes defined in the notebook are pickled by value with cloudpickle when it
is importable. Torch tensors travel as raw bytes and land on the receiver's own device: a CUDA
tensor on the rank's GPU (LOCAL_RANK), on CPU where there is no GPU.
"""

import contextlib
import io
import mmap
import os
import pickle
import secrets
import struct
import sys
import tempfile

MAGIC = b"JDDPVAL1"
ALIGN = 4096
#: Transfer files are `jupyter-ddp-{tag}-{writer pid}-{16 hex digits}` (server/process/stale-transfers.ts).
PREFIX = "jupyter-ddp-"


def transfer_dir():
    """Shared memory where there is some, else the temporary folder."""
    shared = "/dev/shm"
    return shared if os.path.isdir(shared) and os.access(shared, os.W_OK) else tempfile.gettempdir()


def new_file(tag):
    """A new private (0600) file for one transfer; the caller writes it and someone deletes it."""
    path = os.path.join(transfer_dir(), f"{PREFIX}{tag}-{os.getpid()}-{secrets.token_hex(8)}")
    return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def dump(values, tag):
    """Write `values` (a dict) to a new transfer file; gives its path. Raises ValueError naming the
    value that cannot be sent, and leaves no file behind."""
    pickler_class = _pickler_class()
    buffers = []
    payload = io.BytesIO()
    try:
        pickler_class(payload, protocol=5, buffer_callback=buffers.append).dump(values)
    except Exception as err:
        raise ValueError(_cannot_send(values, pickler_class, err)) from None
    path, fd = new_file(tag)
    try:
        with os.fdopen(fd, "wb") as f:
            raws = [b.raw() for b in buffers]
            header = struct.pack("<8sQQ", MAGIC, len(payload.getbuffer()), len(raws))
            header += b"".join(struct.pack("<Q", r.nbytes) for r in raws)
            f.write(header)
            f.write(payload.getbuffer())
            for raw in raws:
                f.write(b"\0" * (-f.tell() % ALIGN))
                f.write(raw)
    except BaseException:
        os.unlink(path)
        raise
    return path


def load(path):
    """Read a transfer file (mapped copy-on-write: arrays in it are writable and private)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size < 24:
            raise ValueError(f"{path} is not a jupyter-ddp transfer file")
        mapped = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
    view = memoryview(mapped)
    magic, payload_len, count = struct.unpack_from("<8sQQ", view, 0)
    if magic != MAGIC:
        raise ValueError(f"{path} is not a jupyter-ddp transfer file")
    sizes = struct.unpack_from(f"<{count}Q", view, 24)
    offset = 24 + 8 * count
    payload = view[offset : offset + payload_len]
    offset += payload_len
    buffers = []
    for nbytes in sizes:
        offset += -offset % ALIGN
        buffers.append(view[offset : offset + nbytes])
        offset += nbytes
    return _unpickler_class()(io.BytesIO(payload), buffers=buffers).load()


def remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _tensor_types():
    torch = sys.modules.get("torch")  # never import torch just to send a dict
    return (torch, (torch.Tensor, torch.nn.Parameter)) if torch is not None else (None, ())


def _pickler_class():
    """cloudpickle's pickler where importable (notebook-defined code by value), else pickle's."""
    try:
        import cloudpickle

        base = cloudpickle.CloudPickler
    except ImportError:
        base = pickle.Pickler

    torch, tensor_types = _tensor_types()

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


def _unpickler_class():
    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            if not (isinstance(pid, tuple) and pid and pid[0] == "ddp-tensor"):
                raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
            import torch

            _, flat, dtype, shape, device, requires_grad, parameter = pid
            tensor = torch.from_numpy(flat).view(getattr(torch, dtype)).reshape(shape)
            if device == "cuda" and torch.cuda.is_available():
                tensor = tensor.to(torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))))
            if parameter:
                return torch.nn.Parameter(tensor, requires_grad=requires_grad)
            return tensor.requires_grad_(requires_grad) if requires_grad else tensor

    return Unpickler


def _cannot_send(values, pickler_class, err):
    """Which value failed to pickle, and what to do about it."""
    for name, value in values.items():
        try:
            pickler_class(io.BytesIO(), protocol=5, buffer_callback=lambda b: None).dump(value)
        except Exception as one:
            err = one
            break
    else:
        name = None
    what = f"`{name}`" if name is not None else "these values"
    if pickler_class.__mro__[1] is pickle.Pickler and _defined_in_notebook(values.get(name)):
        return (
            f"cannot send {what}: it is defined in the notebook, and sending such functions and"
            " classes needs cloudpickle (apt install python3-cloudpickle)"
        )
    return f"cannot send {what}: {type(err).__name__}: {err}"


def _defined_in_notebook(value):
    return getattr(value, "__module__", None) == "__main__"
