"""Run a command so that it, and everything it starts, ends when the jupyter-ddp server dies.

Usage: python3 guard.py PARENT_PID GRACE_SECONDS [--group-only] [--remove FILE]... -- COMMAND [ARGS...]

The server spawns this guard as the leader of a new process group; the guard forks COMMAND into
that group and waits for it. The guard is a child subreaper (Linux): whatever the command starts
stays below the guard even when its parent exits, and so does a process that left the group with
setsid(). When the command exits, the guard gets SIGTERM, or PARENT_PID dies (even by SIGKILL, so
it cannot clean up), every remaining descendant gets SIGTERM and, after GRACE_SECONDS, SIGKILL;
SIGUSR1 skips the grace. Then the guard removes the FILEs (the kernel's connection file with its
key) and exits as the command did, re-raising its signal, so the server sees its own exit status.

With --group-only (for the Jupyter server behind `jupyter-ddp lab`), the guard is no subreaper and
ends only its own process group: what users start from JupyterLab's terminals in sessions of their
own (tmux, nohup jobs) outlives the server, as it does a plain `jupyter lab`.
"""
import os
import select
import signal
import sys
import time

LINUX = sys.platform.startswith("linux")
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
#: How often descendants are looked for while they end (they are not all our children: no SIGCHLD).
POLL_SECONDS = 0.05
#: How long SIGKILLed descendants may take to disappear (a process in D state) before we go.
KILL_WAIT_SECONDS = 5.0


USAGE = "usage: guard.py PARENT_PID GRACE_SECONDS [--group-only] [--remove FILE]... -- COMMAND [ARGS...]"


def parse(argv):
    try:
        parent, grace, rest = int(argv[0]), float(argv[1]), argv[2:]
    except (IndexError, ValueError):
        sys.exit(f"guard.py: PARENT_PID and GRACE_SECONDS must be numbers, not {argv[:2]}\n{USAGE}")
    remove, group_only = [], False
    if rest and rest[0] == "--group-only":
        group_only, rest = True, rest[1:]
    while rest and rest[0] == "--remove" and len(rest) > 1:
        remove.append(rest[1])
        rest = rest[2:]
    if not rest or rest[0] != "--" or len(rest) < 2:
        sys.exit(f"guard.py: no -- COMMAND after {' '.join(argv[:len(argv) - len(rest)])}\n{USAGE}")
    return parent, grace, group_only, remove, rest[1:]


def processes():
    """(pid, ppid, zombie) of every process: /proc on Linux, else ps."""
    if os.path.isdir("/proc/self"):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue  # exited while we looked
            yield int(entry), int(fields[1]), fields[0] == b"Z"
        return
    import subprocess

    lines = subprocess.run(["ps", "-axo", "pid=,ppid=,stat="], capture_output=True, text=True).stdout
    for line in lines.splitlines():
        pid, ppid, stat = line.split(None, 2)
        yield int(pid), int(ppid), stat.startswith("Z")


def descendants(group_only=False):
    """Live (not zombie) processes below this one (only those of its process group, if asked)."""
    children, live = {}, set()
    for pid, ppid, zombie in processes():
        children.setdefault(ppid, []).append(pid)
        if not zombie:
            live.add(pid)
    found, todo = [], [os.getpid()]
    while todo:
        for pid in children.get(todo.pop(), []):
            found.append(pid)
            todo.append(pid)
    return [pid for pid in found if pid in live and (not group_only or in_our_group(pid))]


def in_our_group(pid):
    try:
        return os.getpgid(pid) == os.getpgrp()
    except ProcessLookupError:
        return False


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class Guard:
    def __init__(self, parent, grace, group_only, remove, argv):
        self.parent, self.grace, self.remove, self.argv = parent, grace, remove, argv
        self.group_only = group_only
        self.child = None
        self.status = None  # the command's wait status, once it has exited
        self.ending = False
        self.now = False
        # Signals wake the main loop through this pipe (no polling, and no lost wake-up).
        self.wakeup, writer = os.pipe()
        os.set_blocking(self.wakeup, False)
        os.set_blocking(writer, False)
        signal.set_wakeup_fd(writer)

    def run(self):
        # The server interrupts a kernel by signalling the group; that is for the command only.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self.end)
        signal.signal(signal.SIGUSR1, self.end_now)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the loop
        if LINUX:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            if not self.group_only:
                libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
        if os.getppid() != self.parent:  # the parent died before we could watch it
            self.finish()
            sys.exit(1)
        self.child = os.fork()
        if self.child == 0:
            self.exec_command()
        while not self.ending and self.status is None:
            self.wait(None if LINUX else 0.5)
            # Where PR_SET_PDEATHSIG does not exist, notice re-parenting instead.
            if os.getppid() != self.parent:
                self.ending = True
        self.end_descendants()
        self.finish()
        self.exit_as_command()

    def exec_command(self):
        try:
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            os.execvp(self.argv[0], self.argv)
        finally:
            os._exit(127)

    def end(self, *_):
        self.ending = True

    def end_now(self, *_):
        self.ending = self.now = True

    def wait(self, timeout):
        """Sleep until a signal or the timeout, then reap our children (the re-parented ones too)."""
        select.select([self.wakeup], [], [], timeout)
        try:
            while os.read(self.wakeup, 512):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child:
                self.status = status

    def end_descendants(self):
        """SIGTERM every descendant, wherever its session or group; SIGKILL them after the grace."""
        if not self.now:
            signal_all(descendants(self.group_only), signal.SIGTERM)
            deadline = time.monotonic() + self.grace
            while not self.now and time.monotonic() < deadline and descendants(self.group_only):
                self.wait(POLL_SECONDS)
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while time.monotonic() < deadline:
            left = descendants(self.group_only)
            if not left:
                break
            # Again each time: one may have forked before it got the signal.
            signal_all(left, signal.SIGKILL)
            self.wait(POLL_SECONDS)
        self.wait(0)

    def finish(self):
        for path in self.remove:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def exit_as_command(self):
        status = self.status
        if status is None:  # still not reaped: it did not die in time
            sys.exit(1)
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
            sys.exit(128 + sig)  # a signal whose default is to be ignored
        sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    Guard(*parse(sys.argv[1:])).run()
