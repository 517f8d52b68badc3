"""Which installed packages a kernel of the kit loads: run by bench/gpu-kit/build, isolated.

Run as `python3 -S closure.py SITE_DIR CONNECTION_FILE OUT_JSON` with PYTHONPATH=ZMQ_DIR:SITE_DIR (the kit's
pyzmq first, then the folder whose packages are being picked). It starts a real IPKernelApp (its
sockets bound, the IOPub and heartbeat threads running), runs cells in it the way the check's
kernels do (output, a display, an error traceback, the `ddp` client's imports), and writes to
OUT_JSON (the kernel's own output streams take over fds 1 and 2): the top-level names loaded from SITE_DIR and the distributions (dist-info folders)
they belong to. Lazily imported modules load here too, since the cells really run.
"""

import importlib.metadata
import json
import os
import sys

CELLS = [
    "print('hello')",
    "from IPython.display import display, HTML; display(HTML('<b>x</b>')); 1 + 1",
    "def f():\n    raise ValueError('boom')\nf()",
    "import pickle, mmap, struct, urllib.request, urllib.error, secrets, tempfile, faulthandler",
    "import cloudpickle",
    "%time pass",
]


def main():
    site_dir = os.path.realpath(sys.argv[1])
    connection_file = sys.argv[2]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", connection_file, "--IPKernelApp.parent_handle=0"])
    for cell in CELLS:
        app.shell.run_cell(cell, store_history=True)
    loaded = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path:
            continue
        path = os.path.realpath(path)
        if path.startswith(site_dir + os.sep):
            loaded.add(os.path.relpath(path, site_dir).split(os.sep)[0])
    names = sorted({n[:-3] if n.endswith(".py") else n for n in loaded})
    owners = importlib.metadata.packages_distributions()
    dists = {}
    for name in names:
        for dist in owners.get(name.split(".")[0], []):
            meta = importlib.metadata.distribution(dist)
            folder = getattr(meta, "_path", None)
            if folder is not None and os.path.realpath(str(folder)).startswith(site_dir + os.sep):
                dists[dist] = os.path.basename(str(folder))
    with open(sys.argv[3], "w") as out:
        json.dump({"top_level": sorted(loaded), "dist_info": dists}, out, indent=1)
    os._exit(0)


if __name__ == "__main__":
    main()
