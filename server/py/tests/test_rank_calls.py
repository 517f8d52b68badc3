"""jupyter_ddp_rank.call: the one entry point the server calls on a rank."""

import base64
import json
import os
import re

import pytest

import jupyter_ddp_rank

RANK_CALLS_TS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "group", "rank-calls.ts")


def encode(value):
    """As server/group/rank-calls.ts encodes a call's arguments."""
    return base64.b64encode(json.dumps(value).encode()).decode()


def call(name, arguments):
    return json.loads(base64.b64decode(jupyter_ddp_rank.call(name, encode(arguments))))


def test_the_calls_are_those_of_the_servers_table():
    with open(RANK_CALLS_TS) as f:
        source = f.read()
    start = source.index("export interface RankCalls {")
    table = source[start : source.index("\n}\n", start)]
    assert sorted(re.findall(r"^  (\w+): \{", table, re.MULTILINE)) == sorted(jupyter_ddp_rank.CALLS)


def test_a_call_gets_its_keyword_arguments_and_gives_its_result_encoded(monkeypatch):
    monkeypatch.delenv("JUPYTER_DDP_TEST", raising=False)
    assert call("setEnvironment", {"env": {"JUPYTER_DDP_TEST": "1"}}) is None
    assert os.environ["JUPYTER_DDP_TEST"] == "1"


def test_an_unknown_call_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"^jupyter-ddp: no rank call 'nope'; the calls are warm, setEnv"):
        call("nope", {})


def test_arguments_must_be_an_object_and_match_the_function():
    with pytest.raises(TypeError, match=r"the arguments of stage must be a JSON object, not \['a', 'b'\]"):
        call("stage", ["a", "b"])
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'txn'"):
        call("stage", {"file": "/dev/null"})


def test_environment_values_must_be_strings(monkeypatch):
    monkeypatch.delenv("JUPYTER_DDP_TEST", raising=False)
    with pytest.raises(TypeError, match="environment variables must be strings: JUPYTER_DDP_TEST"):
        call("setEnvironment", {"env": {"JUPYTER_DDP_TEST": 1}})
    assert "JUPYTER_DDP_TEST" not in os.environ


def test_a_warm_spare_imports_torch():
    assert call("warm", {}) is None
    import sys

    assert "torch.distributed" in sys.modules
