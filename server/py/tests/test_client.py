"""jupyter_ddp: the notebook kernel's `ddp`, against a stand-in for the server's group routes."""

import builtins
import http.server
import json
import os
import threading
import urllib.request

import pytest

import jupyter_ddp


class StandIn(http.server.ThreadingHTTPServer):
    """Answers each request with the next of `answers` ((status, body) pairs); keeps what it got."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.answers = []
        self.got = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.answer()

    def do_POST(self):
        self.answer()

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        files = [body["file"]] if isinstance(body, dict) and "file" in body else []
        self.server.got.append(
            {
                "method": self.command,
                "path": self.path,
                "auth": self.headers["Authorization"],
                "body": body,
                "file there": [os.path.exists(f) for f in files],
            }
        )
        status, reply = self.server.answers.pop(0)
        data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    stand_in = StandIn()
    thread = threading.Thread(target=stand_in.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield stand_in
    stand_in.shutdown()
    stand_in.server_close()


@pytest.fixture
def ddp(server):
    return jupyter_ddp.DdpClient(server.url + "/", "the-key", "default")


def test_world_size_is_the_running_groups(server, ddp):
    server.answers = [(200, {"state": "busy", "worldSize": 4}), (200, {"state": "stopped", "worldSize": 0})]
    assert ddp.world_size == 4
    assert ddp.world_size == 0
    assert server.got[0]["path"] == "/ddp/api/groups/default"
    assert server.got[0]["auth"] == "token the-key"


def test_push_sends_a_transfer_file_that_is_removed_after(server, ddp):
    server.answers = [(200, {"ranks": [0, 1], "names": ["a", "b"]}), (200, {"ranks": [1], "names": ["a"]})]
    assert ddp.push(a=1, b=[2]) == ["a", "b"]
    assert ddp.push_to([1], a=1) == ["a"]
    first, second = server.got
    assert (first["method"], first["path"]) == ("POST", "/ddp/api/groups/default/push")
    assert first["file there"] == [True]
    assert second["body"]["ranks"] == [1]
    assert not os.path.exists(first["body"]["file"]) and not os.path.exists(second["body"]["file"])


def test_push_of_nothing_says_what_to_name(ddp):
    with pytest.raises(ValueError, match=r"push what\? name the values: ddp.push\(x=x\)"):
        ddp.push()


def test_pull_reads_and_removes_the_ranks_file_and_names_the_unwrapped(server, ddp, capsys, transfer_files):
    file = transfer_files.dump({"model": "the module"}, "pull")
    server.answers = [(200, {"rank": 1, "file": file, "unwrapped": ["model"]})]
    assert ddp.pull("model", rank=1) == "the module"
    assert server.got[0]["body"] == {"names": ["model"], "rank": 1}
    said = capsys.readouterr().out
    assert said == "jupyter-ddp: model is a DistributedDataParallel on rank 1: pulled model.module\n"
    assert not os.path.exists(file)


def test_run_prints_each_ranks_output_and_gives_the_results_by_rank(server, ddp, capsys, transfer_files):
    files = [transfer_files.dump({"value": rank * 10}, "result") for rank in (0, 1)]
    results = [{"rank": r, "file": files[r], "output": f"hi {r}\nbye\n"} for r in (0, 1)]
    server.answers = [(200, {"results": results})]
    assert ddp.run(divmod, 7, 2) == [0, 10]
    assert capsys.readouterr().out == "[rank 0] hi 0\n[rank 0] bye\n[rank 1] hi 1\n[rank 1] bye\n"
    assert server.got[0]["file there"] == [True] and not os.path.exists(server.got[0]["body"]["file"])
    assert not any(os.path.exists(f) for f in files)


def test_run_raises_for_the_first_rank_that_failed_and_drops_the_others_results(server, ddp, transfer_files):
    file = transfer_files.dump({"value": 1}, "result")
    server.answers = [
        (
            200,
            {
                "results": [
                    {"rank": 0, "file": file, "output": ""},
                    {"rank": 1, "error": "ValueError: bad", "traceback": "Traceback...\n", "output": ""},
                    {"rank": 2, "error": "KeyboardInterrupt: ", "output": ""},
                ]
            },
        )
    ]
    with pytest.raises(jupyter_ddp.DdpRankError) as raised:
        ddp.run(len, [])
    assert str(raised.value) == "rank 1 raised ValueError: bad (failed ranks: 1, 2)\nTraceback...\n"
    assert (raised.value.rank, raised.value.traceback) == (1, "Traceback...\n")
    assert not os.path.exists(file)


def test_the_servers_refusal_is_its_message(server, ddp):
    server.answers = [(404, {"error": "rank 5 does not exist"}), (500, b"<html>oops</html>")]
    with pytest.raises(jupyter_ddp.DdpError, match="^rank 5 does not exist$"):
        ddp.pull("x", rank=5)
    with pytest.raises(jupyter_ddp.DdpError, match="^HTTP 500$"):
        ddp.world_size


def test_an_unreachable_server_is_named(server):
    url = server.url
    server.shutdown()
    server.server_close()
    with pytest.raises(jupyter_ddp.DdpError, match="^the jupyter-ddp server is unreachable"):
        jupyter_ddp.DdpClient(url, "k", "default").world_size


def test_interrupting_a_wait_interrupts_the_ranks(server, ddp, monkeypatch):
    server.answers = [(200, {})]
    real = urllib.request.urlopen
    calls = []

    def interrupted_once(request):
        calls.append(request.full_url)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(request)

    monkeypatch.setattr(urllib.request, "urlopen", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        ddp.run(len, [])
    assert calls[1].endswith("/ddp/api/groups/default/interrupt")
    assert server.got[0]["body"] == {}


def test_magics_push_and_pull_names_of_the_notebook(server, ddp, namespace, transfer_files):
    namespace["shared"] = [1, 2]
    file = transfer_files.dump({"shared": [1, 2, 3]}, "pull")
    server.answers = [(200, {"ranks": [0], "names": ["shared"]}), (200, {"rank": 0, "file": file})]
    ddp.magic_push(["shared"], ranks=[0])
    ddp.magic_pull(["shared"])
    assert namespace["shared"] == [1, 2, 3]
    with pytest.raises(NameError, match="^%dipush: name nope is not defined in the notebook$"):
        ddp.magic_push(["nope"])


def test_install_gives_the_notebook_ddp_unless_it_has_its_own(namespace, monkeypatch):
    monkeypatch.delattr(builtins, jupyter_ddp.CLIENT_NAME, raising=False)
    jupyter_ddp.install("http://127.0.0.1:1", "k1", "default")
    first = namespace["ddp"]
    assert getattr(builtins, jupyter_ddp.CLIENT_NAME) is first
    jupyter_ddp.install("http://127.0.0.1:2", "k2", "default")  # a new server: a new client
    assert namespace["ddp"] is not first and namespace["ddp"]._key == "k2"
    namespace["ddp"] = "the notebook's own ddp"
    jupyter_ddp.install("http://127.0.0.1:3", "k3", "default")
    assert namespace["ddp"] == "the notebook's own ddp"
    assert getattr(builtins, jupyter_ddp.CLIENT_NAME)._key == "k3"


def test_a_reinstalled_client_module_replaces_the_earlier_ddp(namespace, monkeypatch):
    # The server installs the module afresh (a new key): its DdpClient is another class object.
    import importlib.util

    monkeypatch.delattr(builtins, jupyter_ddp.CLIENT_NAME, raising=False)
    jupyter_ddp.install("http://127.0.0.1:1", "k1", "default")
    spec = importlib.util.spec_from_file_location("jupyter_ddp", jupyter_ddp.__file__)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    fresh.install("http://127.0.0.1:2", "k2", "default")
    assert type(namespace["ddp"]) is fresh.DdpClient and namespace["ddp"]._key == "k2"
