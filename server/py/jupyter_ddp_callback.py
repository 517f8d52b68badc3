"""A rank's channel back to its jupyter-ddp server, from another host (server/cluster/callback.ts).

TLS to the one certificate the server made for its run (JUPYTER_DDP_CALLBACK_CERT, PEM), to
JUPYTER_DDP_CALLBACK (host:port); the rank says who it is with its one-time secret (the
SLURM_PROCID-th of the comma list JUPYTER_DDP_CALLBACK_SECRETS). Then one JSON object per line
each way. A rank that cannot reach the server fails loudly, naming the address it tried.
"""

import json
import os
import socket
import ssl
import sys

CONNECT_TIMEOUT_SECONDS = 30


class CallbackError(Exception):
    """The server could not be reached, or refused this rank."""


class Channel:
    """One JSON object per line each way, on one thread (an SSL socket is not for two at once)."""

    def __init__(self, sock):
        self._sock = sock
        self._buffer = b""

    def send(self, message):
        self._sock.sendall((json.dumps(message) + "\n").encode())

    def receive(self):
        """The next message (waiting for it), or None once the server has closed the channel."""
        while b"\n" not in self._buffer:
            if not self.read():
                return None
        return self.take()[0]

    def read(self):
        """Read what has come (after select() said so); False once the channel is closed."""
        try:
            chunk = self._sock.recv(65536)
            while chunk and self._sock.pending():  # decrypted already: select() would not say
                chunk += self._sock.recv(self._sock.pending())
        except OSError:  # reset, or keepalive found the server gone
            chunk = b""
        self._buffer += chunk
        return bool(chunk)

    def take(self):
        """The complete messages read so far."""
        *lines, self._buffer = self._buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def fileno(self):
        return self._sock.fileno()

    def local_address(self):
        """This host's address on the way to the server."""
        return self._sock.getsockname()[0]

    def close(self):
        self._sock.close()


def connect(env=os.environ):
    where = env.get("JUPYTER_DDP_CALLBACK", "")
    host, _, port = where.rpartition(":")
    task = int(env.get("SLURM_PROCID", "0"))
    secrets = env.get("JUPYTER_DDP_CALLBACK_SECRETS", "").split(",")
    if not host or not port.isdigit() or task >= len(secrets) or "JUPYTER_DDP_CALLBACK_CERT" not in env:
        raise CallbackError("this rank was not started by jupyter-ddp (no JUPYTER_DDP_CALLBACK* environment)")
    context = ssl.create_default_context(cadata=env["JUPYTER_DDP_CALLBACK_CERT"])
    context.check_hostname = False  # the one certificate trusted is the server's own, by content
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        raw = socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_SECONDS)
        sock = context.wrap_socket(raw)
    except (OSError, ssl.SSLError) as err:
        raise CallbackError(
            f"rank {task} on {socket.gethostname()} cannot reach the jupyter-ddp server at {where}: {err}"
        ) from None
    sock.settimeout(None)
    # a server whose host vanished (no reset ever comes) is noticed within about 10 s
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 4), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    channel = Channel(sock)
    channel.send({"secret": secrets[task], "task": task, "host": socket.gethostname()})
    return channel


def connect_or_exit():
    """connect(), or the reason on stderr and exit status 2 (srun shows both)."""
    try:
        return connect()
    except CallbackError as err:
        print(f"jupyter-ddp: {err}", file=sys.stderr, flush=True)
        sys.exit(2)
