"""Run a command so that it, and everything it starts, ends when the jupyter-ddp server dies.

Usage: python3 guard.py PARENT_PID GRACE_SECONDS COMMAND [ARGS...]

The server spawns this guard as the leader of a new process group; the guard forks COMMAND into
that group and waits for it. When PARENT_PID dies (even by SIGKILL, so it cannot clean up) or the
guard gets SIGTERM, the command gets SIGTERM, and after GRACE_SECONDS the whole group (DataLoader
workers, compilers, anything else) gets SIGKILL. The guard exits as the command did, re-raising its
signal, so the server sees the command's own exit status.
"""
import os
import signal
import sys
import threading
import time

parent = int(sys.argv[1])
grace = float(sys.argv[2])
argv = sys.argv[3:]

# The server interrupts a kernel by signalling the group; that is for the command, not the guard.
signal.signal(signal.SIGINT, signal.SIG_IGN)
if sys.platform.startswith("linux"):
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
if os.getppid() != parent:  # the parent died before we could watch it
    sys.exit(1)

child = os.fork()
if child == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)


def end_group(*_):
    try:
        os.kill(child, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if os.waitpid(child, os.WNOHANG)[0] != 0:
            break
        time.sleep(0.05)
    os.killpg(0, signal.SIGKILL)


signal.signal(signal.SIGTERM, end_group)


def watch_parent():
    # Where PR_SET_PDEATHSIG does not exist, notice re-parenting instead.
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


threading.Thread(target=watch_parent, daemon=True).start()

_, status = os.waitpid(child, 0)
if os.WIFSIGNALED(status):
    if os.WTERMSIG(status) != signal.SIGKILL:
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
