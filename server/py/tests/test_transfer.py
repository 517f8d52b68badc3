"""jupyter_ddp_rank.transfer: a rank's side of push (stage, commit, discard), pull and ddp.run."""

import threading

import pytest

from jupyter_ddp_rank import transfer

CANNOT_PICKLE_LOCK = "TypeError: cannot pickle '_thread.lock' object"


def pushed(transfer_files, **values):
    return transfer_files.dump(values, "push")


def test_staged_values_reach_the_namespace_only_at_commit(namespace, transfer_files):
    assert transfer.stage(pushed(transfer_files, b=2, a=1), "t1") == {"names": ["a", "b"]}
    assert "a" not in namespace
    transfer.commit("t1")
    assert (namespace["a"], namespace["b"]) == (1, 2)
    assert "t1" not in transfer.STAGED


def test_discarded_values_never_arrive_and_cannot_be_committed(namespace, transfer_files):
    transfer.stage(pushed(transfer_files, gone=1), "t2")
    transfer.discard("t2")
    transfer.discard("t2")  # twice is no error: the server discards on every rank
    with pytest.raises(KeyError, match="nothing is staged for push t2 on this rank"):
        transfer.commit("t2")
    assert "gone" not in namespace


def test_what_is_staged_survives_a_reset_of_the_namespace(shell, namespace, transfer_files):
    transfer.stage(pushed(transfer_files, kept="yes"), "t3")
    shell.run_line_magic("reset", "-f")
    transfer.commit("t3")
    assert shell.user_ns["kept"] == "yes"


def test_a_file_that_cannot_be_staged_says_why(namespace, tmp_path):
    assert transfer.stage(str(tmp_path / "missing"), "t4") == {
        "error": f"FileNotFoundError: [Errno 2] No such file or directory: '{tmp_path / 'missing'}'"
    }
    assert "t4" not in transfer.STAGED


def test_pull_writes_the_named_values(namespace, transfer_files):
    namespace.update(x=[1, 2], y="why")
    answer = transfer.pull(["x", "y"])
    assert answer["unwrapped"] == []
    assert transfer_files.load(answer["file"]) == {"x": [1, 2], "y": "why"}


def test_pull_names_what_is_missing_or_cannot_be_sent(namespace, monkeypatch):
    monkeypatch.setenv("RANK", "3")
    namespace["x"] = 1
    assert transfer.pull(["x", "nope", "nada"]) == {
        "error": "name nope, nada is not defined on rank 3",
        "missing": ["nope", "nada"],
    }
    namespace["lock"] = threading.Lock()
    assert transfer.pull(["lock"]) == {"error": f"cannot send `lock`: {CANNOT_PICKLE_LOCK}"}


def test_run_gives_the_result_in_a_file_and_what_the_function_printed(namespace, transfer_files):
    def shout(word, times=1):
        print(word * times)
        return len(word)

    answer = transfer.run(transfer_files.dump({"fn": shout, "args": ("ab",), "kwargs": {"times": 2}}, "call"))
    assert answer["output"] == "abab\n"
    assert transfer_files.load(answer["file"]) == {"value": 2}


def test_run_gives_an_error_with_its_traceback_and_the_output_so_far(namespace, transfer_files):
    def fails():
        print("before")
        raise ValueError("no good")

    answer = transfer.run(transfer_files.dump({"fn": fails, "args": (), "kwargs": {}}, "call"))
    assert answer["error"] == "ValueError: no good"
    assert answer["output"] == "before\n"
    assert answer["traceback"].startswith("Traceback")
    assert 'raise ValueError("no good")' in answer["traceback"]


def test_run_names_a_result_that_cannot_be_sent(namespace, transfer_files):
    answer = transfer.run(transfer_files.dump({"fn": threading.Lock, "args": (), "kwargs": {}}, "call"))
    assert answer == {"error": f"the result cannot send `value`: {CANNOT_PICKLE_LOCK}", "output": ""}


def test_a_notebook_function_finds_the_ranks_names_first_and_assigns_globals_there(namespace, transfer_files):
    notebook = {"__name__": "__main__", "brought": 7, "shadowed": "notebook"}
    source = "def uses():\n    global assigned\n    assigned = rank_only * 2\n"
    exec(source + "    return rank_only, shadowed, brought", notebook)
    namespace.update(rank_only=100, shadowed="rank")
    answer = transfer.run(transfer_files.dump({"fn": notebook["uses"], "args": (), "kwargs": {}}, "call"))
    assert transfer_files.load(answer["file"]) == {"value": (100, "rank", 7)}
    assert namespace["assigned"] == 200


def test_functions_not_from_the_notebook_are_run_as_they_are():
    assert transfer.rank_first(len) is len
    assert transfer.rank_first(pushed) is pushed
