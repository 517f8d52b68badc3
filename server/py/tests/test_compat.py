"""jupyter_ddp_rank.compat: which init_process_group calls a group's ranks accept, without a group."""

import pytest

from jupyter_ddp_rank import compat


@pytest.fixture
def group(tmp_path, monkeypatch):
    """Rank 1 of 2 ranks with gloo, its rendezvous a FileStore nobody else opens."""
    torchrun = {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29400"}
    for name, value in torchrun.items():
        monkeypatch.setenv(name, value)
    return compat._Group("gloo", 60, str(tmp_path / "rendezvous"))


@pytest.mark.parametrize(
    "call",
    [
        {},
        {"backend": "gloo", "init_method": "env://", "world_size": 2, "rank": 1},
        {"backend": "GLOO", "init_method": "tcp://127.0.0.1:12355", "world_size": -1, "rank": -1},
    ],
)
def test_calls_that_fit_the_group_are_accepted(group, call):
    arguments = {"backend": None, "init_method": None, "world_size": -1, "rank": -1, "store": None}
    assert group.refusal(**{**arguments, **call}) is None


@pytest.mark.parametrize(
    "call, why",
    [
        (
            {"store": object()},
            "the ranks already share a rendezvous store; call init_process_group() without store=",
        ),
        ({"init_method": "file:///tmp/x"}, "init_method='file:///tmp/x' would make a second rendezvous"),
        ({"world_size": 4}, "world_size=4 but this group has 2 ranks; restart the group with 4 ranks"),
        ({"rank": 0}, "rank=0 but this kernel is rank 1; pass rank=int(os.environ['RANK'])"),
        (
            {"backend": "nccl"},
            "backend='nccl' but this group's ranks run gloo (CPU ranks have no NCCL: use 'gloo')",
        ),
    ],
)
def test_calls_that_do_not_fit_are_refused_with_why(group, call, why):
    arguments = {"backend": None, "init_method": None, "world_size": -1, "rank": -1, "store": None}
    assert group.refusal(**{**arguments, **call}).startswith(why)


def test_torchruns_variables_are_put_back_as_the_group_had_them(group, monkeypatch):
    monkeypatch.setenv("MASTER_PORT", "12355")  # a tutorial's setup()
    group.restore_environment()
    import os

    assert (os.environ["MASTER_PORT"], os.environ["RANK"], os.environ["WORLD_SIZE"]) == ("29400", "1", "2")
    assert (group.rank, group.world_size, group.generation) == (1, 2, 0)
