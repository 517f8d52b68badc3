"""jupyterlab-ddp as a Jupyter server extension.

Installed with pip, the package carries the prebuilt JupyterLab extension (in
share/jupyter/labextensions/jupyterlab-ddp), the Node DDP server, and this server extension, enabled
through etc/jupyter/jupyter_server_config.d/jupyterlab_ddp.json. The extension runs the Node server
as its child on a private loopback port and serves `/ddp/` through the Jupyter server, under
Jupyter's own authentication: `jupyter lab`, `jupyter server` and `jupyterhub-singleuser` all get
the DDP group without anything in front of them.
"""

import os

__version__ = "0.1.0"

#: Set by `jupyter-ddp lab` for the Jupyter server it runs behind its own server, which then
#: serves `/ddp/` and the bundled lab itself.
FRONTED_ENV = "JUPYTER_DDP_FRONTED"


def _jupyter_server_extension_points():
    from .extension import DdpExtension

    points = [{"module": "jupyterlab_ddp.extension", "app": DdpExtension}]
    if not os.environ.get(FRONTED_ENV):
        from .bundled_lab import bundled_lab_point

        points.extend(bundled_lab_point())
    return points
