"""A pyzmq backend over libzmq through ctypes, for the GPU check kit (bench/gpu-kit).

Debian's pyzmq source is not in the archive this project can reach (its .orig.tar is a 404 there),
and its binary package is built for Python 3.11 only; the GPU machine has Python 3.12. So the kit
carries the pure-Python part of Debian's pyzmq (the `zmq` package without its Cython extensions)
and this module in their place, selected with PYZMQ_BACKEND=gpu_kit_zmq. libzmq itself is built on
the machine from Debian's zeromq3 source; GPU_KIT_LIBZMQ names the shared library.

It provides exactly `zmq.backend.select.public_api`. Every frame is copied in and out of libzmq
(what Jupyter sends is small; the DDP values go through shared-memory files, not ZeroMQ), so a
MessageTracker is done at once. Blocking calls release the GIL (ctypes does), and a call that
libzmq ends with EINTR is retried, so that Python's signal handlers (KeyboardInterrupt) run.
"""

import ctypes
import ctypes.util
import errno as _errno
import os
import threading

from zmq.constants import ContextOption, SocketOption, _OptType
from zmq.error import _check_rc

__all__ = [
    "Context",
    "Socket",
    "Frame",
    "Message",
    "device",
    "proxy",
    "proxy_steerable",
    "zmq_poll",
    "strerror",
    "zmq_errno",
    "has",
    "curve_keypair",
    "curve_public",
    "zmq_version_info",
    "IPC_PATH_MAX_LEN",
]

IPC_PATH_MAX_LEN = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux


def _load():
    path = os.environ.get("GPU_KIT_LIBZMQ") or ctypes.util.find_library("zmq")
    if not path:
        raise ImportError("gpu_kit_zmq: no libzmq (set GPU_KIT_LIBZMQ to its .so)")
    return ctypes.CDLL(path, use_errno=True)


_lib = _load()
_vp = ctypes.c_void_p


class _Msg(ctypes.Structure):
    _fields_ = [("_", ctypes.c_uint64 * 8)]  # zmq_msg_t: 64 opaque bytes, pointer-aligned


class _PollItem(ctypes.Structure):
    _fields_ = [("socket", _vp), ("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


def _fn(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


_int, _size, _charp, _msgp = ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER(_Msg)
_version = _fn("zmq_version", None, ctypes.POINTER(_int), ctypes.POINTER(_int), ctypes.POINTER(_int))
_strerror = _fn("zmq_strerror", _charp, _int)
_has = _fn("zmq_has", _int, _charp)
_ctx_new = _fn("zmq_ctx_new", _vp)
_ctx_term = _fn("zmq_ctx_term", _int, _vp)
_ctx_set = _fn("zmq_ctx_set", _int, _vp, _int, _int)
_ctx_get = _fn("zmq_ctx_get", _int, _vp, _int)
_socket = _fn("zmq_socket", _vp, _vp, _int)
_close = _fn("zmq_close", _int, _vp)
_setsockopt = _fn("zmq_setsockopt", _int, _vp, _int, _vp, _size)
_getsockopt = _fn("zmq_getsockopt", _int, _vp, _int, _vp, ctypes.POINTER(_size))
_bind = _fn("zmq_bind", _int, _vp, _charp)
_connect = _fn("zmq_connect", _int, _vp, _charp)
_unbind = _fn("zmq_unbind", _int, _vp, _charp)
_disconnect = _fn("zmq_disconnect", _int, _vp, _charp)
_monitor = _fn("zmq_socket_monitor", _int, _vp, _charp, _int)
_send = _fn("zmq_send", _int, _vp, _vp, _size, _int)
_msg_init = _fn("zmq_msg_init", _int, _msgp)
_msg_recv = _fn("zmq_msg_recv", _int, _msgp, _vp, _int)
_msg_data = _fn("zmq_msg_data", _vp, _msgp)
_msg_size = _fn("zmq_msg_size", _size, _msgp)
_msg_more = _fn("zmq_msg_more", _int, _msgp)
_msg_close = _fn("zmq_msg_close", _int, _msgp)
_poll = _fn("zmq_poll", _int, ctypes.POINTER(_PollItem), _int, ctypes.c_long)
_proxy = _fn("zmq_proxy", _int, _vp, _vp, _vp)
_proxy_steerable = _fn("zmq_proxy_steerable", _int, _vp, _vp, _vp, _vp)
_curve_keypair = _fn("zmq_curve_keypair", _int, _charp, _charp)
_curve_public = _fn("zmq_curve_public", _int, _charp, _charp)


def _call(fn, *args):
    """fn(*args), retried while libzmq says EINTR; raises ZMQError (Again, ContextTerminated...)."""
    while True:
        rc = fn(*args)
        if rc != -1:
            return rc
        err = ctypes.get_errno()
        if err != _errno.EINTR:
            _check_rc(rc, err)
            return rc


def zmq_errno():
    return ctypes.get_errno()


def strerror(errno):
    return _strerror(errno).decode("utf-8", "replace")


def zmq_version_info():
    parts = [_int(), _int(), _int()]
    _version(*(ctypes.byref(p) for p in parts))
    return tuple(p.value for p in parts)


def has(capability):
    return bool(_has(capability.encode()))


def curve_keypair():
    public, secret = ctypes.create_string_buffer(41), ctypes.create_string_buffer(41)
    _call(_curve_keypair, public, secret)
    return public.value, secret.value


def curve_public(secret_key):
    if isinstance(secret_key, str):
        secret_key = secret_key.encode()
    public = ctypes.create_string_buffer(41)
    _call(_curve_public, public, secret_key)
    return public.value


def _done_tracker():
    from zmq.sugar.tracker import MessageTracker

    event = threading.Event()
    event.set()
    return MessageTracker(event)


def _as_bytes(data):
    if isinstance(data, str):
        raise TypeError("unicode not allowed, use send_string")
    if isinstance(data, bytes):  # Frame included
        return bytes(data) if type(data) is not bytes else data
    return memoryview(data).tobytes()


class Frame(bytes):
    """A message frame: its bytes (copied out of libzmq), and whether more parts follow."""

    more = False
    tracker = None
    tracker_event = None

    def __new__(cls, data=None, track=False, copy=None, copy_threshold=None):
        return super().__new__(cls, b"" if data is None else _as_bytes(data))

    def __init__(self, data=None, track=False, copy=None, copy_threshold=None):
        if track:
            self.tracker = _done_tracker()

    @property
    def bytes(self):
        return bytes(memoryview(self))

    @property
    def buffer(self):
        return memoryview(self)

    def fast_copy(self):
        return self

    def __copy__(self):
        return self

    def get(self, option):
        from zmq.constants import MORE

        if option in (MORE, "more"):
            return self.more
        raise NotImplementedError(f"gpu_kit_zmq: frame property {option!r} is not kept")

    def set(self, option, value):
        raise NotImplementedError(f"gpu_kit_zmq: frame property {option!r} cannot be set")


Message = Frame


class Context:
    """A libzmq context."""

    handle = None
    closed = True
    _shadow = False
    _pid = 0

    def __init__(self, io_threads=1, shadow=0):
        if shadow:
            self.handle, self._shadow = shadow, True
        else:
            self.handle = _ctx_new()
            if not self.handle:
                _check_rc(-1, ctypes.get_errno())
            if io_threads != 1:
                self.set(ContextOption.IO_THREADS, io_threads)
        self.closed = False
        self._pid = os.getpid()

    @property
    def underlying(self):
        return self.handle or 0

    def term(self):
        if self.handle and not self.closed and os.getpid() == self._pid:
            _call(_ctx_term, self.handle)
        self.closed = True
        self.handle = None

    def set(self, option, optval):
        _call(_ctx_set, self.handle, option, optval)

    def get(self, option):
        return _call(_ctx_get, self.handle, option)


_STRIP_NUL = {o for o in SocketOption if o._opt_type is _OptType.bytes} - {SocketOption.ROUTING_ID}


class Socket:
    """A libzmq socket."""

    handle = None
    context = None
    _closed = True
    _shadow = False
    _pid = 0
    copy_threshold = 0

    def __init__(self, context=None, socket_type=-1, shadow=0, copy_threshold=None):
        self.context = context
        self.copy_threshold = 65536 if copy_threshold is None else copy_threshold
        if shadow:
            self.handle, self._shadow = shadow, True
        else:
            if context is None:
                raise TypeError("a Socket needs a Context")
            self.handle = _socket(context.handle, socket_type)
            if not self.handle:
                _check_rc(-1, ctypes.get_errno())
        self._closed = False
        self._pid = os.getpid()

    @property
    def underlying(self):
        return self.handle or 0

    @property
    def closed(self):
        return self._closed

    def close(self, linger=None):
        if self.handle and not self._closed and os.getpid() == self._pid:
            if linger is not None:
                self.set(SocketOption.LINGER, linger)
            _close(self.handle)
        self._closed = True
        self.handle = None

    def _check_open(self):
        if self._closed:
            from zmq.error import ZMQError

            raise ZMQError(_errno.ENOTSOCK)

    def _endpoint(self, fn, addr):
        self._check_open()
        if isinstance(addr, str):
            addr = addr.encode("utf-8")
        _call(fn, self.handle, addr)

    def bind(self, addr):
        self._endpoint(_bind, addr)

    def connect(self, addr):
        self._endpoint(_connect, addr)

    def unbind(self, addr):
        self._endpoint(_unbind, addr)

    def disconnect(self, addr):
        self._endpoint(_disconnect, addr)

    def monitor(self, addr, events=-1):
        self._endpoint(lambda handle, a: _monitor(handle, a, events), addr)

    def set(self, option, optval):
        self._check_open()
        kind = SocketOption(option)._opt_type
        if kind is _OptType.bytes:
            if isinstance(optval, str):
                raise TypeError("unicode not allowed, use setsockopt_string")
            raw = bytes(optval)
            _call(_setsockopt, self.handle, option, ctypes.c_char_p(raw), len(raw))
            return
        value = (ctypes.c_int64 if kind is _OptType.int64 else ctypes.c_int)(optval)
        _call(_setsockopt, self.handle, option, ctypes.byref(value), ctypes.sizeof(value))

    def get(self, option):
        self._check_open()
        kind = SocketOption(option)._opt_type
        if kind is _OptType.bytes:
            buf, size = ctypes.create_string_buffer(256), _size(256)
            _call(_getsockopt, self.handle, option, buf, ctypes.byref(size))
            raw = buf.raw[: size.value]
            return raw.rstrip(b"\0") if option in _STRIP_NUL else raw
        value = (ctypes.c_int64 if kind is _OptType.int64 else ctypes.c_int)()
        size = _size(ctypes.sizeof(value))
        _call(_getsockopt, self.handle, option, ctypes.byref(value), ctypes.byref(size))
        return value.value

    def send(self, data, flags=0, copy=True, track=False):
        self._check_open()
        raw = _as_bytes(data)
        _call(_send, self.handle, raw, len(raw), flags)
        return _done_tracker() if track and not copy else None

    def recv(self, flags=0, copy=True, track=False):
        self._check_open()
        msg = _Msg()
        _msg_init(ctypes.byref(msg))
        try:
            _call(_msg_recv, ctypes.byref(msg), self.handle, flags)
            raw = ctypes.string_at(_msg_data(ctypes.byref(msg)), _msg_size(ctypes.byref(msg)))
            more = bool(_msg_more(ctypes.byref(msg)))
        finally:
            _msg_close(ctypes.byref(msg))
        if copy:
            return raw
        frame = Frame(raw, track=track)
        frame.more = more
        return frame


def _handle(sock):
    return sock.handle if isinstance(sock, Socket) else None


def zmq_poll(sockets, timeout=-1):
    """[(socket or fd, events)] → [(socket or fd, revents)] of those ready, within timeout ms."""
    if not sockets:
        return []
    items = (_PollItem * len(sockets))()
    for item, (sock, events) in zip(items, sockets):
        if isinstance(sock, Socket):
            item.socket = sock.handle
        elif isinstance(sock, int):
            item.fd = sock
        elif hasattr(sock, "fileno"):
            item.fd = sock.fileno()
        else:
            raise TypeError(f"Socket must be a 0MQ socket, an integer fd or have a fileno() method: {sock!r}")
        item.events = events
    timeout = -1 if timeout is None or timeout < 0 else int(timeout)
    _call(_poll, items, len(sockets), timeout)
    return [(sock, item.revents) for item, (sock, _) in zip(items, sockets) if item.revents > 0]


def proxy(frontend, backend, capture=None):
    return _call(_proxy, frontend.handle, backend.handle, _handle(capture))


def proxy_steerable(frontend, backend, capture=None, control=None):
    return _call(_proxy_steerable, frontend.handle, backend.handle, _handle(capture), _handle(control))


def device(device_type, frontend, backend=None):
    return proxy(frontend, backend)
