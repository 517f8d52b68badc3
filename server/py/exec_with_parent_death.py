"""Exec a command that the kernel terminates when the process that spawned us dies.

Usage: python3 exec_with_parent_death.py PARENT_PID COMMAND [ARGS...]

Node cannot set PR_SET_PDEATHSIG on its children itself; this shim does it and then execs, so a
SIGKILL of the jupyter-ddp server still ends the Jupyter server (and through it the kernels).
Elsewhere than Linux it only execs.
"""
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1

parent = int(sys.argv[1])
argv = sys.argv[2:]
if sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    # The parent may have died before prctl took effect.
    if os.getppid() != parent:
        sys.exit(1)
os.execvp(argv[0], argv)
