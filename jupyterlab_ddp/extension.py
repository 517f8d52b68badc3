"""The jupyter_server extension: runs the Node DDP server (node_server.py) for as long as the
Jupyter server runs, and serves `/ddp/` through it (handlers.py)."""

import asyncio
import os
import shutil
import signal

from jupyter_core.paths import jupyter_runtime_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode, default

from . import FRONTED_ENV
from .handlers import DdpApiHandler, DdpEventsHandler, forwarding_client
from .node_server import NodeServer
from .paths import node_server_dir


def _stop_on_sigint_as_on_sigterm():
    """Where the server left SIGINT to Python, make it stop the server as SIGTERM does.

    Without a terminal, jupyter_server 1.x does not handle SIGINT: the KeyboardInterrupt ends its
    IOLoop and it exits without its cleanup, so no extension is stopped. JupyterHub's
    LocalProcessSpawner stops servers with SIGINT: the DDP server would then end only through its
    guard, and leave its folder behind.
    """
    on_sigterm = signal.getsignal(signal.SIGTERM)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler and callable(on_sigterm):
        signal.signal(signal.SIGINT, on_sigterm)


class DdpExtension(ExtensionApp):
    name = "jupyterlab_ddp"
    description = "PyTorch DistributedDataParallel groups for JupyterLab"
    # not an app of its own: it adds routes to whatever Jupyter server loads it
    load_other_extensions = True

    node = Unicode(
        config=True,
        help="The Node.js (>= 20) that runs the DDP server (default: JUPYTER_DDP_NODE, else `node` on PATH).",
    )

    @default("node")
    def _default_node(self):
        return os.environ.get("JUPYTER_DDP_NODE") or shutil.which("node") or "node"

    def initialize_settings(self):
        self.node_server = None
        if os.environ.get(FRONTED_ENV):
            self.log.info("jupyterlab_ddp: jupyter-ddp lab serves /ddp/ in front of this server")
            return
        server_dir = node_server_dir()
        if server_dir is None:
            self.log.error("jupyterlab_ddp: the Node DDP server is missing from this install: /ddp/ is off")
            return
        runtime_parent = jupyter_runtime_dir()
        os.makedirs(runtime_parent, mode=0o700, exist_ok=True)
        self.node_server = NodeServer(
            node=self.node,
            server_dir=server_dir,
            root_dir=os.path.abspath(os.path.expanduser(self.serverapp.root_dir)),
            runtime_parent=runtime_parent,
            log=self.log,
        )
        self.node_server.start()
        _stop_on_sigint_as_on_sigterm()

    def initialize_handlers(self):
        if self.node_server is None:
            return
        kwargs = {"node": self.node_server, "client": forwarding_client()}
        # ExtensionApp prefixes the server's base_url (/user/NAME/ under a Hub)
        self.handlers.extend([
            ("/ddp/api/ws", DdpEventsHandler, kwargs),
            (r"/ddp/api/(.*)", DdpApiHandler, kwargs),
        ])

    async def stop_extension(self):
        if self.node_server is not None:
            self.log.info("jupyterlab_ddp: stopping the DDP server and its ranks")
            await asyncio.get_running_loop().run_in_executor(None, self.node_server.stop)
