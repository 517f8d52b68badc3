"""pytest for server/py: its modules imported from their files, under the names a kernel knows them by.

Run with Debian's python3 (`npx jest server/py`, or `/usr/bin/python3 -m pytest server/py/tests`).
"""

import os
import sys

import pytest

sys.dont_write_bytecode = True
PY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PY_DIR)


@pytest.fixture(scope="session")
def shell(tmp_path_factory):
    """An IPython shell that get_ipython() gives, as in a kernel; its history in memory only."""
    os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config)


@pytest.fixture
def namespace(shell):
    """The shell's user namespace; what a test puts there is removed after it."""
    before = set(shell.user_ns)
    yield shell.user_ns
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]


@pytest.fixture
def transfer_files():
    """jupyter_ddp_values, and the transfer files this test leaves are removed after it."""
    import jupyter_ddp_values

    before = set(_our_files(jupyter_ddp_values))
    yield jupyter_ddp_values
    for path in set(_our_files(jupyter_ddp_values)) - before:
        os.unlink(path)


def _our_files(values):
    folder = values.transfer_dir()
    mine = f"-{os.getpid()}-"
    return [os.path.join(folder, f) for f in os.listdir(folder) if f.startswith(values.PREFIX) and mine in f]

