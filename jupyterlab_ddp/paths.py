"""Where the Node server and the bundled JupyterLab are: inside the installed package (the wheel
puts them in jupyterlab_ddp/server and jupyterlab_ddp/lab), else in the source checkout this
package sits in (for development, with `npm run build` done)."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)


def _first_with(candidates, marker):
    for folder in candidates:
        if os.path.exists(os.path.join(folder, marker)):
            return folder
    return None


def node_server_dir():
    """The folder with bin/jupyter-ddp.js, server-lib/ and server/py/, or None."""
    return _first_with(
        [os.path.join(HERE, "server"), CHECKOUT], os.path.join("server-lib", "server", "cli", "main.js")
    )


def bundled_lab_dir():
    """The folder with the bundled lab's app.py and its build/, or None."""
    return _first_with(
        [os.path.join(HERE, "lab"), os.path.join(CHECKOUT, "lab")], os.path.join("build", "core", "package.json")
    )
