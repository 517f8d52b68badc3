"""install_modules.py: how the server puts modules into a kernel's sys.modules."""

import os
import sys
import traceback

import pytest

PY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(PY_DIR, "install_modules.py")) as f:
    INSTALLER = f.read()

PACKAGE = "ddp_test_package"

#: A package whose modules import each other at their top, in the order the server gives them.
MODULES = [
    [
        f"{PACKAGE}.first",
        f"{PACKAGE}/first.py",
        f"from {PACKAGE} import second\nSTATE = []\n\ndef twice():\n    return second.one() * 2\n",
    ],
    [
        f"{PACKAGE}.second",
        f"{PACKAGE}/second.py",
        "def one():\n    return 1\n\ndef fail():\n    raise RuntimeError('from second')\n",
    ],
    [PACKAGE, f"{PACKAGE}/__init__.py", f"from {PACKAGE} import first\nVALUE = first.twice()\n"],
]


def install(modules=MODULES, replace=False):
    """As the server does it: one exec() statement in the user's namespace; gives that namespace."""
    user_namespace = {}
    exec(f"exec({INSTALLER!r}, {{'MODULES': {modules!r}, 'REPLACE': {replace!r}}})", user_namespace)
    return user_namespace


def ours():
    return {name: module for name, module in sys.modules.items() if name.split(".")[0] == PACKAGE}


@pytest.fixture(autouse=True)
def clean_modules():
    yield
    for name in ours():
        del sys.modules[name]


def test_installs_a_package_whose_modules_import_each_other_and_leaves_no_name():
    assert set(install()) == {"__builtins__"}
    assert sorted(ours()) == [PACKAGE, f"{PACKAGE}.first", f"{PACKAGE}.second"]
    package = sys.modules[PACKAGE]
    assert package.VALUE == 2 and package.__path__ == []
    assert package.first is sys.modules[f"{PACKAGE}.first"] and package.first.__package__ == PACKAGE
    from ddp_test_package.second import one

    assert one() == 1


def test_keeps_modules_that_are_all_there_with_their_state():
    install()
    first = sys.modules[f"{PACKAGE}.first"]
    first.STATE.append("staged")
    install()
    assert sys.modules[f"{PACKAGE}.first"] is first and first.STATE == ["staged"]


def test_makes_all_again_where_one_is_missing_or_when_asked_to():
    install()
    kept = sys.modules[f"{PACKAGE}.second"]
    del sys.modules[PACKAGE]
    install()
    assert sys.modules[f"{PACKAGE}.second"] is not kept
    kept = dict(ours())
    install(replace=True)
    assert all(sys.modules[name] is not module for name, module in kept.items())


def test_a_module_that_fails_leaves_sys_modules_as_it_was():
    broken = MODULES[:-1] + [[PACKAGE, f"{PACKAGE}/__init__.py", "raise ImportError('broken package')"]]
    with pytest.raises(ImportError, match="broken package"):
        install(broken)
    assert ours() == {}
    install()
    before = dict(ours())
    with pytest.raises(ImportError, match="broken package"):
        install(broken, replace=True)
    assert ours() == before


def test_a_module_without_its_package_is_refused():
    why = f"the module {PACKAGE}.second is given without its package {PACKAGE}$"
    with pytest.raises(ValueError, match=why):
        install(MODULES[1:2])
    assert ours() == {}


def test_tracebacks_show_the_source_of_installed_modules():
    install()
    try:
        sys.modules[f"{PACKAGE}.second"].fail()
    except RuntimeError:
        text = traceback.format_exc()
    assert f'File "<jupyter-ddp server/py/{PACKAGE}/second.py>", line 5, in fail' in text
    assert "raise RuntimeError('from second')" in text
