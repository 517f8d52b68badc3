"""The ipyparallel side of `npm run bench` (run by bench/bench.mjs with /usr/bin/python3).

Usage: python3 ipp_bench.py CONFIG_JSON

Measures, with ipyparallel's default local launchers and one engine per rank:
- start: Cluster(n=RANKS).start_and_connect() until every engine is registered, then the same work
  our server does: torch and torch.distributed imported on every engine at once, torchrun's
  environment set on each engine, and a gloo process group initialised rank 0 first (the others once
  rank 0's port listens, as our server does);
- restart: stop_cluster() of that running cluster, then the same start;
- pass round trip: view.execute("pass", block=True) on all engines;
- output: every engine printing the same lines; bytes of stdout at the client over the time from
  execute to the last output (AsyncResult.wait_for_output);
- push: view.push({"a": float32 array}, block=True) to every engine (100 MiB, 1 GiB); for 1 GiB,
  also until view.apply of a.sum() on every engine has returned (every byte read there);
- pull: view.pull("b", targets=0, block=True) of a 1 GiB float32 array, and until x.sum() of it.

Progress goes to stderr; one JSON object (raw timings, in seconds, and byte counts) to stdout.
Every process started (controller, engines) is ended, whatever happens.
"""
import json
import os
import socket
import sys
import time
import uuid

import ipyparallel as ipp
import numpy as np

CONFIG = json.loads(sys.argv[1])
RANKS = CONFIG["ranks"]


T0 = time.perf_counter()


def log(*args):
    print(f"[ipyparallel +{time.perf_counter() - T0:.0f}s]", *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def init_rank(rank, world_size, port):
    """On an engine: torchrun's environment, then the gloo process group (env://)."""
    import datetime
    import os

    import torch.distributed as dist

    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_WORLD_SIZE=str(world_size),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    dist.init_process_group("gloo", init_method="env://", timeout=datetime.timedelta(seconds=1800))
    return dist.get_rank()


class Bench:
    def __init__(self):
        self.profile_dir = CONFIG["profileDir"]
        self.cluster = None
        self.client = None

    def start(self):
        """Cold start to a ready torch process group; returns (cluster up, ready) in seconds."""
        t0 = time.perf_counter()
        self.cluster = ipp.Cluster(
            n=RANKS, profile_dir=self.profile_dir, cluster_id=uuid.uuid4().hex[:8], log_level=40
        )
        self.client = self.cluster.start_and_connect_sync()
        up = time.perf_counter() - t0
        view = self.client[:]
        view.execute("import torch, torch.distributed", block=True)
        port = free_port()
        first = self.client[0].apply_async(init_rank, 0, RANKS, port)
        while not listening(port) and not first.ready():
            time.sleep(0.02)
        rest = [self.client[r].apply_async(init_rank, r, RANKS, port) for r in range(1, RANKS)]
        ranks = [first.get()] + [ar.get() for ar in rest]
        assert ranks == list(range(RANKS)), ranks
        return up, time.perf_counter() - t0

    def stop(self):
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.stop_cluster_sync()
            self.cluster = None

    def view(self):
        view = self.client[:]
        view.block = True
        return view


def main():
    result = {"start": [], "startClusterUp": [], "restart": [], "pass": [], "output": [], "push": {}}
    bench = Bench()
    os.environ["OMP_NUM_THREADS"] = "1"  # as torchrun and our ranks have it
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    try:
        for i in range(CONFIG["starts"]):
            up, ready = bench.start()
            log(f"start {i + 1}: cluster up {up:.2f} s, torch process group ready {ready:.2f} s")
            result["start"].append(ready)
            result["startClusterUp"].append(up)
            if i < CONFIG["starts"] - 1:
                bench.stop()
        for i in range(CONFIG["restarts"]):
            t0 = time.perf_counter()
            bench.stop()
            bench.start()
            result["restart"].append(time.perf_counter() - t0)
            log(f"restart {i + 1}: {result['restart'][-1]:.2f} s")

        view = bench.view()
        for _ in range(CONFIG["passWarmup"]):
            view.execute("pass")
        for _ in range(CONFIG["passRuns"]):
            t0 = time.perf_counter()
            view.execute("pass")
            result["pass"].append(time.perf_counter() - t0)
        log(f"pass: median {sorted(result['pass'])[len(result['pass']) // 2] * 1000:.1f} ms")

        for i in range(CONFIG["outputRuns"]):
            t0 = time.perf_counter()
            ar = bench.client[:].execute(CONFIG["outputCode"], block=False)
            ar.wait()
            ar.wait_for_output()
            seconds = time.perf_counter() - t0
            stdout = ar.stdout
            size = sum(len(s.encode()) for s in stdout)
            lines = sum(s.count("\n") for s in stdout)
            result["output"].append({"seconds": seconds, "bytes": size, "lines": lines})
            log(f"output {i + 1}: {lines} lines, {size / seconds / 1e6:.2f} MB/s")
            del ar, stdout
            bench.client.purge_everything()

        # Push, and pull from engine 0, of the float32 arrays ours moves; as ours, each is timed
        # until it returns and, in the same go, until every byte has been read (on every engine
        # after a push, at the client after a pull).
        result["pushRead"] = []
        view.execute("import numpy as np")
        sizes = (("100MiB", 25 * 2**20, CONFIG["push100"]), ("1GiB", 2**28, CONFIG["push1g"]))
        for label, n, runs in sizes:
            array = np.ones(n, dtype=np.float32)
            expect = float(array.sum())
            times = []
            for i in range(runs):
                t0 = time.perf_counter()
                view.push({"a": array})
                t1 = time.perf_counter()
                sums = view.apply_sync(lambda a: float(a.sum()), ipp.Reference("a"))
                t2 = time.perf_counter()
                assert sums == [expect] * RANKS, sums
                times.append(t1 - t0)
                if label == "1GiB":
                    result["pushRead"].append(t2 - t0)
                view.execute("del a")
                log(
                    f"push {label} {i + 1} to {RANKS} engines: {t1 - t0:.2f} s,"
                    f" and read on every engine {t2 - t0:.2f} s"
                )
            result["push"][label] = times
            del array
        result["pull"] = []
        result["pullRead"] = []
        view.execute(f"b = np.ones({2**28}, dtype=np.float32)")  # on every engine, as ours
        for i in range(CONFIG["pull1g"]):
            t0 = time.perf_counter()
            x = view.pull("b", targets=0)
            t1 = time.perf_counter()
            total = float(x.sum())
            t2 = time.perf_counter()
            assert x.shape == (2**28,) and total == 2**28, total
            result["pull"].append(t1 - t0)
            result["pullRead"].append(t2 - t0)
            del x
            bench.client.purge_everything()
            log(f"pull 1GiB {i + 1} from engine 0: {t1 - t0:.2f} s, and read {t2 - t0:.2f} s")
        view.execute("del b")
    finally:
        bench.stop()
        log("cluster stopped")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
