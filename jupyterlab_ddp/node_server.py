"""The Node DDP server as a child of the Jupyter server: started on a private loopback port with a
secret only the two share, watched, started again if it dies, and ended with every rank when
Jupyter stops.

It runs under server/py/guard.py, watching the Jupyter server's pid: if Jupyter dies without
cleaning up (SIGKILL), the guard ends the Node server, whose ranks have guards of their own.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from tornado.ioloop import IOLoop

READY_PREFIX = "JUPYTER_DDP_READY "  # server/cli/serve.ts
#: The guard's grace between SIGTERM and SIGKILL, and ours for the whole server to stop.
GUARD_GRACE_SECONDS = 10
STOP_TIMEOUT_SECONDS = 30
READY_TIMEOUT_SECONDS = 60
#: More deaths than this within the window and it is not started again: something is broken.
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 120


class NodeServerUnavailable(Exception):
    """Why /ddp/ cannot be served right now (said to the client with a 503)."""


def describe_exit(returncode):
    """How a process ended, in words: `exited with signal SIGKILL`, `exited with code 1`."""
    if returncode < 0 or returncode > 128:
        number = -returncode if returncode < 0 else returncode - 128
        try:
            return f"exited with signal {signal.Signals(number).name}"
        except ValueError:
            pass
    return f"exited with code {returncode}"


class NodeServer:
    """One Node DDP server process at a time, and what to say while there is none."""

    def __init__(self, *, node, server_dir, root_dir, runtime_parent, log):
        self._node = node
        self._server_dir = server_dir
        self._root_dir = root_dir
        self._log = log
        self._secret = secrets.token_urlsafe(32)
        # Connection files of the ranks, with their keys: ours alone (mkdtemp makes it 0700).
        self.runtime_dir = tempfile.mkdtemp(prefix="jupyter-ddp-", dir=runtime_parent)
        self._loop = IOLoop.current()
        self._lock = threading.Lock()
        self._process = None
        self._port = None
        self._ready_waiters = []
        self._problem = "The DDP server is starting"
        self._deaths = []
        self._stopping = False

    @property
    def secret(self):
        return self._secret

    @property
    def pid(self):
        """The Node server's pid (the guard's child), for tests and the log; None when down."""
        with self._lock:
            process = self._process
        return getattr(process, "node_pid", None)

    def start(self, restarted_after=None):
        """Spawn the server (returns at once; `port()` waits for it to listen)."""
        guard = os.path.join(self._server_dir, "server", "py", "guard.py")
        main = os.path.join(self._server_dir, "bin", "jupyter-ddp.js")
        argv = [
            sys.executable, guard, str(os.getpid()), str(GUARD_GRACE_SECONDS), "--",
            self._node, main, "serve",
            "--root-dir", self._root_dir, "--runtime-dir", self.runtime_dir, "--python", sys.executable,
        ]
        env = dict(os.environ, JUPYTER_DDP_PROXY_SECRET=self._secret)
        if restarted_after:
            env["JUPYTER_DDP_RESTARTED_AFTER"] = restarted_after
        try:
            process = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True,
            )
        except OSError as err:
            self._set_down(f"The DDP server could not be started: {err}")
            return
        with self._lock:
            self._process, self._port = process, None
        threading.Thread(target=self._read_stdout, args=(process,), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(process,), daemon=True).start()
        threading.Thread(target=self._wait_exit, args=(process,), daemon=True).start()
        self._loop.call_later(READY_TIMEOUT_SECONDS, self._check_ready, process)

    async def port(self):
        """The port it listens on, once it does; raises NodeServerUnavailable while it cannot."""
        with self._lock:
            if self._port is not None:
                return self._port
            if self._process is None:
                raise NodeServerUnavailable(self._problem)
            future = self._loop.asyncio_loop.create_future()
            self._ready_waiters.append(future)
        return await future

    def stop(self):
        """End the server and its ranks (SIGTERM: it stops its groups), and remove our folder."""
        self._stopping = True
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)  # the guard and Node, in one group
            except ProcessLookupError:
                pass
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._log.warning("jupyterlab_ddp: the DDP server did not stop in time; killing it")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)

    # -------------------------------------------------------------- the process's threads

    def _read_stdout(self, process):
        for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            if line.startswith(READY_PREFIX):
                info = json.loads(line[len(READY_PREFIX):])
                process.node_pid = info.get("pid")
                self._loop.add_callback(self._ready, process, int(info["port"]))
            elif line:
                self._log.info("[DDP] %s", line)

    def _read_stderr(self, process):
        for raw in process.stderr:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self._log.warning("[DDP] %s", line)

    def _wait_exit(self, process):
        returncode = process.wait()
        self._loop.add_callback(self._exited, process, returncode)

    # -------------------------------------------------------------- on the IOLoop

    def _ready(self, process, port):
        with self._lock:
            if process is not self._process:
                return
            self._port = port
            waiters, self._ready_waiters = self._ready_waiters, []
        self._log.info("jupyterlab_ddp: the DDP server listens on 127.0.0.1:%d", port)
        for future in waiters:
            if not future.done():
                future.set_result(port)

    def _check_ready(self, process):
        with self._lock:
            late = process is self._process and self._port is None
        if late and process.poll() is None:
            self._log.error("jupyterlab_ddp: the DDP server did not start within %d s", READY_TIMEOUT_SECONDS)
            os.killpg(process.pid, signal.SIGKILL)

    def _exited(self, process, returncode):
        if self._stopping or process is not self._process:
            return
        how = describe_exit(returncode)
        self._clear_runtime_dir()  # the ranks' guards removed their files; this is for the rest
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < RESTART_WINDOW_SECONDS] + [now]
        if len(self._deaths) > MAX_RESTARTS:
            self._log.error("jupyterlab_ddp: the DDP server %s, and is not started again: "
                            "it ended %d times in %d s", how, len(self._deaths), RESTART_WINDOW_SECONDS)
            self._set_down(f"The DDP server {how} and was not started again (it kept ending): "
                           "see the Jupyter server's log")
            return
        self._log.error("jupyterlab_ddp: the DDP server %s; starting it again", how)
        with self._lock:
            self._process, self._port = None, None
            self._problem = f"The DDP server {how}; it is starting again"
        self.start(restarted_after=how)

    def _set_down(self, problem):
        with self._lock:
            self._process, self._port, self._problem = None, None, problem
            waiters, self._ready_waiters = self._ready_waiters, []
        for future in waiters:
            if not future.done():
                future.set_exception(NodeServerUnavailable(problem))

    def _clear_runtime_dir(self):
        for name in os.listdir(self.runtime_dir):
            path = os.path.join(self.runtime_dir, name)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
