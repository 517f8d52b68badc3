"""NodeServer with real processes: the checkout's Node DDP server (after `npm run build`), and a
"node" that dies at once, for the restart cap."""

import asyncio
import logging
import os
import signal
import shutil
import tempfile

import pytest

from jupyterlab_ddp import node_server as ns
from jupyterlab_ddp.node_server import NodeServer, NodeServerUnavailable
from jupyterlab_ddp.paths import node_server_dir

LOG = logging.getLogger("test")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


async def until(check, seconds=30):
    for _ in range(int(seconds * 10)):
        if check():
            return True
        await asyncio.sleep(0.1)
    return check()


@pytest.fixture
def folders():
    root, runtime = tempfile.mkdtemp(), tempfile.mkdtemp()
    yield root, runtime
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(runtime, ignore_errors=True)


def new_server(folders, node):
    root, runtime = folders
    return NodeServer(node=node, server_dir=node_server_dir(), root_dir=root, runtime_parent=runtime, log=LOG)


def test_restarts_after_sigkill_then_stops_with_nothing_left(folders):
    async def main():
        server = new_server(folders, shutil.which("node"))
        server.start()
        first = await asyncio.wait_for(server.port(), 60)
        killed = server.pid
        os.kill(killed, signal.SIGKILL)
        assert await until(lambda: server.pid not in (None, killed), 60)
        second = await asyncio.wait_for(server.port(), 60)
        assert second != first or server.pid != killed
        assert os.path.isdir(server.runtime_dir)  # kept, emptied: the new server writes there
        node = server.pid
        server.stop()
        assert not alive(node)
        assert not os.path.exists(server.runtime_dir)

    asyncio.run(main())


def test_gives_up_when_it_keeps_dying(folders, monkeypatch):
    monkeypatch.setattr(ns, "MAX_RESTARTS", 2)

    async def main():
        server = new_server(folders, "/bin/false")  # a "node" that exits with 1 at once
        server.start()

        async def refused():
            try:
                await server.port()
            except NodeServerUnavailable as err:
                return str(err)
            return None

        problem = None
        for _ in range(100):
            problem = await refused()
            if problem and "not started again" in problem:
                break
            await asyncio.sleep(0.1)
        assert problem == (
            "The DDP server exited with code 1 and was not started again (it kept ending): "
            "see the Jupyter server's log"
        )
        server.stop()

    asyncio.run(main())
