"""jupyter_ddp_rank.tuning: less per-cell work in a rank's ipykernel, on stand-ins for its parts."""

import asyncio
import datetime
import io
import logging
import types

import pytest

from jupyter_ddp_rank import tuning


class Stream:
    """An ipykernel OutStream's parts that the tuning reads: a pending flag and a buffer."""

    def __init__(self):
        self._flush_pending = False
        self._buffer = io.StringIO()
        self.flushes = 0

    def flush(self):
        self.flushes += 1


def stand_in_kernel(level=logging.DEBUG, handler_level=logging.WARNING):
    log = logging.Logger("stand-in kernel", level)
    log.addHandler(logging.NullHandler(handler_level))
    return types.SimpleNamespace(
        _execute_sleep=0.0005,
        _publish_execute_input=lambda *args, **kwargs: "published",
        _flush_control_queue=lambda: "waited",
        log=log,
    )


@pytest.fixture(autouse=True)
def keep_library_functions(monkeypatch):
    """tune() patches ipykernel and jupyter_client: undo it after each test."""
    import ipykernel.kernelbase as kernelbase
    import jupyter_client.jsonutil as jsonutil

    monkeypatch.setattr(kernelbase, "_accepts_cell_id", kernelbase._accepts_cell_id)
    monkeypatch.setattr(jsonutil, "parse_date", jsonutil.parse_date)


def test_tune_drops_the_sleep_the_broadcast_the_wait_and_the_debug_records():
    kernel = stand_in_kernel()
    tuning.tune(kernel, ())
    assert kernel._execute_sleep == 0
    assert kernel._publish_execute_input("code") is None
    assert asyncio.run(kernel._flush_control_queue()) is None
    assert kernel.log.level == logging.WARNING


def test_tune_keeps_a_log_level_above_its_handlers_and_skips_what_the_kernel_lacks():
    kernel = types.SimpleNamespace(log=logging.Logger("quiet", logging.ERROR))
    kernel.log.addHandler(logging.NullHandler(logging.INFO))
    tuning.tune(kernel, (io.StringIO(),))
    assert kernel.log.level == logging.ERROR
    assert vars(kernel) == {"log": kernel.log}


def test_streams_flush_only_with_something_to_flush():
    stream = Stream()
    tuning.tune(stand_in_kernel(), (stream,))
    stream.flush()
    assert stream.flushes == 0
    stream._buffer.write("text")
    stream.flush()
    assert stream.flushes == 1
    stream._buffer = io.StringIO()
    stream._flush_pending = True
    stream.flush()
    assert stream.flushes == 2


def test_whether_do_execute_takes_cell_id_is_asked_once_per_function():
    asked = []

    def accepts(method):
        asked.append(method)
        return True

    cached = tuning.cached_by_function(accepts)

    class Kernel:
        def do_execute(self, code, cell_id=None):
            pass

    assert cached(Kernel().do_execute) and cached(Kernel().do_execute)
    assert len(asked) == 1


def test_aware_dates_are_parsed_by_fromisoformat_and_others_by_the_slow_parser():
    slow_calls = []

    def slow(value):
        slow_calls.append(value)
        return "slow"

    parse = tuning.fast_parse_date(slow)
    assert parse("2024-05-01T10:20:30.123456+00:00") == datetime.datetime(
        2024, 5, 1, 10, 20, 30, 123456, tzinfo=datetime.timezone.utc
    )
    assert [parse("2024-05-01T10:20:30"), parse("not a date"), parse(None)] == ["slow"] * 3
    assert slow_calls == ["2024-05-01T10:20:30", "not a date", None]


def test_the_library_patches_are_made_once():
    import ipykernel.kernelbase as kernelbase
    import jupyter_client.jsonutil as jsonutil

    tuning.tune(stand_in_kernel(), ())
    patched = (kernelbase._accepts_cell_id, jsonutil.parse_date)
    tuning.tune(stand_in_kernel(), ())
    assert (kernelbase._accepts_cell_id, jsonutil.parse_date) == patched
    assert jsonutil.parse_date("2024-05-01T10:20:30Z") == datetime.datetime(
        2024, 5, 1, 10, 20, 30, tzinfo=datetime.timezone.utc
    )
