"""The bundled JupyterLab (lab/app.py of the source tree, jupyterlab_ddp/lab in the wheel) as a
jupyter_server extension, for machines without pip's JupyterLab: Debian's `jupyter server` and
`jupyterhub-singleuser` then serve JupyterLab at /lab with the DDP extension. Where pip's
JupyterLab is installed, it serves /lab and this does nothing."""

import importlib.util
import sys

from .paths import bundled_lab_dir

MODULE = "jupyterlab_ddp.bundled_lab_app"


def _has_pip_jupyterlab():
    return importlib.util.find_spec("jupyterlab") is not None


def bundled_lab_point():
    """The bundled lab's extension point, or none (pip's JupyterLab is here, or no bundled lab)."""
    folder = bundled_lab_dir()
    if _has_pip_jupyterlab() or folder is None:
        return []
    module = sys.modules.get(MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(MODULE, f"{folder}/app.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE] = module  # jupyter_server imports the point's module by name
        spec.loader.exec_module(module)
    return [{"module": MODULE, "app": module.LabApp}]
