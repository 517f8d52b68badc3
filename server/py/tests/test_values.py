"""jupyter_ddp_values: transfer files between the notebook kernel and the ranks."""

import os
import re
import stat
import sys
import threading

import numpy
import pytest


def test_a_dict_goes_through_a_private_file_and_back(transfer_files):
    path = transfer_files.dump({"n": 1, "text": "é", "nested": {"list": [1, 2.5, None]}}, "push")
    assert os.path.dirname(path) == transfer_files.transfer_dir()
    assert re.fullmatch(rf"jupyter-ddp-push-{os.getpid()}-[0-9a-f]{{16}}", os.path.basename(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert transfer_files.load(path) == {"n": 1, "text": "é", "nested": {"list": [1, 2.5, None]}}


def test_transfer_files_are_in_shared_memory_where_there_is_some(transfer_files):
    if os.access("/dev/shm", os.W_OK):
        assert transfer_files.transfer_dir() == "/dev/shm"
    else:
        assert os.path.isdir(transfer_files.transfer_dir())


def test_arrays_travel_out_of_band_page_aligned_and_load_writable_and_private(transfer_files):
    array = numpy.arange(10_000, dtype=numpy.float64)
    path = transfer_files.dump({"a": array, "b": array[::2].copy()}, "push")
    with open(path, "rb") as f:
        data = f.read()
    # The raw bytes of each array are in the file at a page boundary, not inside the pickle.
    offset = data.index(array.tobytes())
    assert offset % transfer_files.ALIGN == 0
    first = transfer_files.load(path)
    assert numpy.array_equal(first["a"], array) and numpy.array_equal(first["b"], array[::2])
    first["a"][0] = 42.0  # copy-on-write: neither the file nor another reader sees it
    assert transfer_files.load(path)["a"][0] == 0.0
    with open(path, "rb") as f:
        assert f.read() == data


def test_tensors_keep_dtype_shape_grad_and_parameter_and_land_on_cpu_here(transfer_files):
    import torch

    weight = torch.nn.Parameter(torch.ones(2, 3))
    plain = torch.arange(12, dtype=torch.int16).reshape(3, 4).t()  # not contiguous
    grad = torch.zeros(2, requires_grad=True)
    loaded = transfer_files.load(transfer_files.dump({"w": weight, "p": plain, "g": grad}, "push"))
    assert isinstance(loaded["w"], torch.nn.Parameter) and loaded["w"].requires_grad
    assert torch.equal(loaded["w"].detach(), weight.detach())
    assert loaded["p"].dtype == torch.int16 and torch.equal(loaded["p"], plain)
    assert loaded["g"].requires_grad and not isinstance(loaded["g"], torch.nn.Parameter)
    assert {t.device.type for t in loaded.values()} == {"cpu"}


def test_a_value_that_cannot_be_pickled_is_named_and_no_file_is_left(transfer_files):
    before = os.listdir(transfer_files.transfer_dir())
    with pytest.raises(ValueError) as raised:
        transfer_files.dump({"n": 1, "lock": threading.Lock()}, "push")
    assert str(raised.value) == "cannot send `lock`: TypeError: cannot pickle '_thread.lock' object"
    assert os.listdir(transfer_files.transfer_dir()) == before


def notebook_function():
    """A function as the notebook defines it: in __main__, so pickle cannot find it by name."""
    scope = {"__name__": "__main__"}
    exec("def double(x):\n    return 2 * x", scope)
    return scope["double"]


def test_notebook_functions_travel_by_value_with_cloudpickle(transfer_files):
    double = notebook_function()
    assert transfer_files.load(transfer_files.dump({"f": double}, "call"))["f"](21) == 42


def test_without_cloudpickle_a_notebook_function_says_what_to_install(transfer_files, monkeypatch):
    monkeypatch.setitem(sys.modules, "cloudpickle", None)  # import cloudpickle raises ImportError
    with pytest.raises(ValueError) as raised:
        transfer_files.dump({"double": notebook_function()}, "call")
    assert str(raised.value) == (
        "cannot send `double`: it is defined in the notebook, and sending such functions and"
        " classes needs cloudpickle (apt install python3-cloudpickle)"
    )


@pytest.mark.parametrize("content", [b"", b"short", b"NOTAFILE" + bytes(64)])
def test_a_file_that_is_not_a_transfer_file_is_refused_by_name(tmp_path, transfer_files, content):
    path = tmp_path / "jupyter-ddp-push-1-0000000000000000"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))} is not a jupyter-ddp transfer file$"):
        transfer_files.load(str(path))


def test_remove_deletes_and_a_missing_file_is_no_error(transfer_files):
    path = transfer_files.dump({}, "pull")
    transfer_files.remove(path)
    assert not os.path.exists(path)
    transfer_files.remove(path)
