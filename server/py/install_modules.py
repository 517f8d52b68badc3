"""Put modules made from their sources into a kernel's sys.modules; run there by the jupyter-ddp server.

The server runs this file with exec() in globals of its own, so that it leaves no name in the user's
namespace (server/kernel/python-modules.ts), giving:

- MODULES: [name, file, source] triples, a package's modules before the package itself (as an
  import of a package whose __init__ imports them runs them); `file` names the source in tracebacks.
- REPLACE: whether modules already there are made again (the notebook client, set up again with a
  new key) or kept when all of them are there (a rank's, whose staged values and patched
  torch.distributed live in them).

Every module is in sys.modules, and its package's attribute, before any of them runs, so that they
may import each other at their top. If one fails, sys.modules is left as it was and the error goes on.
"""

import linecache
import sys
import types


def install(modules, replace):
    names = [name for name, _, _ in modules]
    if not replace and all(name in sys.modules for name in names):
        return
    packages = {name.rpartition(".")[0] for name in names} - {""}
    made = {}
    for name in names:
        module = types.ModuleType(name)
        module.__package__ = name if name in packages else name.rpartition(".")[0]
        if name in packages:
            module.__path__ = []
        made[name] = module
    for name, module in made.items():
        parent, _, leaf = name.rpartition(".")
        if parent:
            if parent not in made:
                raise ValueError(f"jupyter-ddp: the module {name} is given without its package {parent}")
            setattr(made[parent], leaf, module)
    before = {name: sys.modules.get(name) for name in names}
    try:
        sys.modules.update(made)
        for name, file, source in modules:
            filename = f"<jupyter-ddp server/py/{file}>"
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            exec(compile(source, filename, "exec"), made[name].__dict__)
    except BaseException:
        for name, module in before.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        raise


install(MODULES, REPLACE)  # noqa: F821 (given by the server)
