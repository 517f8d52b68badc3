"""The notebook kernel's side of jupyter-ddp: the `ddp` object and what Ddip's line magics call.

The module `jupyter_ddp` (with jupyter_ddp_values), put in the notebook kernel's sys.modules by the
UI or the headless runner (server/http/kernel-api.ts), which then call install(). It asks the
jupyter-ddp server to act on the ranks over loopback HTTP; values never go through the server: they
travel in transfer files in shared memory.
"""

import builtins
import json
import sys
import urllib.error
import urllib.request

import jupyter_ddp_values as transfer_files

CLIENT_NAME = "__jupyter_ddp__"


class DdpError(RuntimeError):
    """The server refused or failed a request (its message says why)."""


class DdpRankError(RuntimeError):
    """A rank raised in ddp.run; `rank` is the first that did, `traceback` its traceback."""

    def __init__(self, message, rank, traceback):
        super().__init__(message)
        self.rank = rank
        self.traceback = traceback


class DdpClient:
    """`ddp` in the notebook: push, pull and run on the DDP group's ranks."""

    def __init__(self, url, key, group):
        self._url = f"{url.rstrip('/')}/ddp/api/groups/{group}"
        self._key = key

    def __repr__(self):
        return f"<jupyter-ddp client: {self.world_size} ranks>"

    @property
    def world_size(self):
        """Ranks of the running group (0 when none runs)."""
        info = self._request("GET", "")
        return info["worldSize"] if info["state"] in ("ready", "busy") else 0

    def push(self, **values):
        """Send values to every rank by name: `ddp.push(model=model, lr=0.1)`."""
        return self.push_to(None, **values)

    def push_to(self, ranks, **values):
        """Send values to the listed ranks (None: all); all of them get them, or none does."""
        if not values:
            raise ValueError("push what? name the values: ddp.push(x=x)")
        path = transfer_files.dump(values, "push")
        try:
            body = {"file": path} if ranks is None else {"file": path, "ranks": list(ranks)}
            return self._request("POST", "/push", body)["names"]
        finally:
            transfer_files.remove(path)

    def pull(self, name, rank=0):
        """The value of `name` on `rank`."""
        return self._pull([name], rank)[name]

    def run(self, fn, *args, **kwargs):
        """Call fn(*args, **kwargs) on every rank at once; gives the list of results, by rank.

        What fn prints on the ranks is printed here afterwards, each line marked with its rank. If a
        rank raises, DdpRankError names it (the other ranks' results are dropped).
        """
        path = transfer_files.dump({"fn": fn, "args": args, "kwargs": kwargs}, "call")
        try:
            results = self._request("POST", "/call", {"file": path})["results"]
        finally:
            transfer_files.remove(path)
        values = []
        try:
            for result in results:
                _print_rank_output(result["rank"], result.get("output", ""))
            failed = [r for r in results if "error" in r]
            if failed:
                first = failed[0]
                ranks = ", ".join(str(r["rank"]) for r in failed)
                trace = first.get("traceback", "")
                raise DdpRankError(
                    f"rank {first['rank']} raised {first['error']} (failed ranks: {ranks})\n{trace}",
                    first["rank"],
                    trace,
                )
            for result in results:
                values.append(transfer_files.load(result["file"])["value"])
        finally:
            for result in results:
                if "file" in result:
                    transfer_files.remove(result["file"])
        return values

    # What Ddip's line magics become (src/protocol/magics.ts rewrites them to these calls).

    def magic_push(self, names, ranks=None):
        namespace = _user_namespace()
        missing = [n for n in names if n not in namespace]
        if missing:
            raise NameError(f"%dipush: name {', '.join(missing)} is not defined in the notebook")
        self.push_to(ranks, **{n: namespace[n] for n in names})

    def magic_pull(self, names, rank=0):
        _user_namespace().update(self._pull(names, rank))

    def _pull(self, names, rank):
        answer = self._request("POST", "/pull", {"names": list(names), "rank": rank})
        path = answer["file"]
        for name in answer.get("unwrapped", []):
            print(f"jupyter-ddp: {name} is a DistributedDataParallel on rank {rank}: pulled {name}.module")
        try:
            return transfer_files.load(path)
        finally:
            transfer_files.remove(path)

    def _request(self, method, route, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self._url + route,
            data=data,
            method=method,
            headers={"Authorization": f"token {self._key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            try:
                message = json.loads(err.read())["error"]
            except Exception:
                message = f"HTTP {err.code}"
            raise DdpError(message) from None
        except urllib.error.URLError as err:
            raise DdpError(f"the jupyter-ddp server is unreachable ({err.reason})") from None
        except KeyboardInterrupt:
            # Interrupting the notebook interrupts what it waits for on the ranks.
            self._request("POST", "/interrupt", {})
            raise


def _user_namespace():
    from IPython import get_ipython

    return get_ipython().user_ns


def _print_rank_output(rank, text):
    for line in text.splitlines():
        print(f"[rank {rank}] {line}")
    sys.stdout.flush()


def install(url, key, group):
    """Make `ddp` (unless the notebook has its own) and the magics' entry point."""
    client = DdpClient(url, key, group)
    setattr(builtins, CLIENT_NAME, client)
    namespace = _user_namespace()
    current = namespace.get("ddp")
    # An earlier install's client is of an earlier copy of this module's class: replaced too.
    ours = type(current).__module__ == __name__ and type(current).__name__ == "DdpClient"
    if current is None or ours:
        namespace["ddp"] = client
