"""ipyparallel + numpy side of tsparallel's benchmarks, driven over stdin/stdout.

The harness sends one JSON command per line and reads one JSON reply per line, so that it can
interleave our repetitions with this peer's. Commands:

  {"op": "start", "n": 2}                 start a local cluster; reply {"seconds": t} (until n engines registered)
  {"op": "run", "metric": NAME, "args": {...}}
                                          one repetition of one metric; reply {"value": v} in the metric's unit
  {"op": "versions"}                      library versions
  {"op": "stop"}                          stop the cluster and exit

Every measurement checks its result before it is reported; nothing is cached across repetitions.
"""

import json
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import ipyparallel as ipp  # noqa: E402

MiB = 1 << 20

cluster = None
rc = None


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def start(n):
    global cluster, rc
    t0 = time.perf_counter()
    cluster = ipp.Cluster(n=n, log_level=40)
    rc = cluster.start_and_connect_sync()
    rc.wait_for_engines(n, timeout=600)
    seconds = time.perf_counter() - t0
    # Engines compute single-threaded, like ours.
    rc[:].apply_sync(_set_threads)
    return seconds


def _set_threads():
    import os

    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    return 0


def rtt(view, calls):
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        r = view.apply_sync(lambda: 0)
        times.append(time.perf_counter() - t0)
        assert r == 0 or r == [0] * len(rc.ids)
    return statistics.median(times) * 1000


def flood(tasks):
    lv = rc.load_balanced_view()
    t0 = time.perf_counter()
    ars = [lv.apply_async(lambda x: x, i) for i in range(tasks)]
    out = [ar.get() for ar in ars]
    seconds = time.perf_counter() - t0
    assert out == list(range(tasks))
    return tasks / seconds


def lb_map(items, chunksize):
    lv = rc.load_balanced_view()
    t0 = time.perf_counter()
    out = lv.map_sync(lambda x: x * 2, range(items), chunksize=chunksize)
    seconds = time.perf_counter() - t0
    assert list(out) == [2 * i for i in range(items)]
    return items / seconds


def data_move(op, mib):
    n = mib * MiB // 8
    a = np.arange(n, dtype=np.float64)
    dv = rc[0] if op in ("push", "pull") else rc[:]
    if op == "push":
        t0 = time.perf_counter()
        dv.push({"a": a}, block=True)
        seconds = time.perf_counter() - t0
        assert _remote(dv, "float(a[-1])") == float(n - 1)
    elif op == "pull":
        dv.push({"a": a}, block=True)
        t0 = time.perf_counter()
        b = dv.pull("a", block=True)
        seconds = time.perf_counter() - t0
        assert b.shape == a.shape and b[-1] == a[-1]
    elif op == "scatter":
        t0 = time.perf_counter()
        dv.scatter("a", a, block=True)
        seconds = time.perf_counter() - t0
        assert sum(_remote(dv, "len(a)")) == n
    else:
        dv.scatter("a", a, block=True)
        t0 = time.perf_counter()
        b = dv.gather("a", block=True)
        seconds = time.perf_counter() - t0
        assert b.shape == a.shape and b[-1] == a[-1]
    dv.execute("a = None; b = None", block=True)
    return mib * MiB / seconds / 1e9


def move_ms(op, mib):
    """Milliseconds of one scatter, gather or push to every engine of `mib` MiB of float64."""
    n = mib * MiB // 8
    a = np.arange(n, dtype=np.float64)
    dv = rc[:]
    if op == "scatter_ms":
        t0 = time.perf_counter()
        dv.scatter("x", a, block=True)
        ms = (time.perf_counter() - t0) * 1000
        assert sum(_remote(dv, "len(x)")) == n
    elif op == "gather_ms":
        dv.scatter("x", a, block=True)
        t0 = time.perf_counter()
        b = dv.gather("x", block=True)
        ms = (time.perf_counter() - t0) * 1000
        assert b.shape == a.shape and b[-1] == a[-1]
    else:
        t0 = time.perf_counter()
        dv.push({"y": a}, block=True)
        ms = (time.perf_counter() - t0) * 1000
        assert all(v == float(n - 1) for v in _remote(dv, "float(y[-1])"))
    dv.execute("y = None; b = None", block=True)
    return ms


def _remote(view, expr):
    """Evaluates expr in the engines' namespace (a closure would ship the local array too)."""
    view.execute(f"_bench_value = {expr}", block=True)
    return view.pull("_bench_value", block=True)


def gemm(dtype, n):
    rng = np.random.default_rng(1)
    a = rng.random((n, n)).astype(dtype)
    b = rng.random((n, n)).astype(dtype)
    a @ b  # warm
    reps = max(1, int(0.5 / (2 * n**3 / 80e9)))
    best = float("inf")
    for _ in range(min(reps, 20)):
        t0 = time.perf_counter()
        c = a @ b
        best = min(best, time.perf_counter() - t0)
    assert abs(c[0, 0] - float(a[0, :].astype(np.float64) @ b[:, 0].astype(np.float64))) < 1e-2 * n
    return 2 * n**3 / best / 1e9


def _block_product(a, b):
    return a @ b


def lb_matmul(n, tasks):
    """The lesson's load-balanced blocked multiply: C = A B split into `tasks` block products."""
    rng = np.random.default_rng(2)
    a = rng.random((n, n))
    b = rng.random((n, n))
    k = int(round(tasks**0.5))
    assert k * k == tasks
    s = n // k
    lv = rc.load_balanced_view()
    t0 = time.perf_counter()
    ars = {}
    for i in range(k):
        for j in range(k):
            ars[i, j] = lv.apply_async(_block_product, a[i * s : (i + 1) * s, :], b[:, j * s : (j + 1) * s])
    c = np.block([[ars[i, j].get() for j in range(k)] for i in range(k)])
    seconds = time.perf_counter() - t0
    assert np.allclose(c[:4, :4], a[:4, :] @ b[:, :4])
    return seconds


def engine_rss_mb():
    def rss():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    values = rc[:].apply_sync(rss)
    return statistics.median(values)


def px_rtt(calls):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    rc.activate()
    shell.run_line_magic("px", "x = 0")
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        shell.run_line_magic("px", "x = x + 1")
        times.append(time.perf_counter() - t0)
    assert rc[:].pull("x", block=True) == [calls] * len(rc.ids)
    return statistics.median(times) * 1000


def run(metric, args):
    if metric == "apply_rtt_direct_1":
        return rtt(rc[0], args.get("calls", 200))
    if metric == "apply_rtt_direct_all":
        return rtt(rc[:], args.get("calls", 200))
    if metric == "apply_rtt_lb":
        return rtt(rc.load_balanced_view(), args.get("calls", 200))
    if metric == "px_rtt":
        return px_rtt(args.get("calls", 100))
    if metric == "lb_flood_tasks_per_s":
        return flood(args.get("tasks", 2000))
    if metric == "map_items_per_s_chunk1":
        return lb_map(args.get("items", 2000), 1)
    if metric == "map_items_per_s_auto":
        # ipyparallel has no automatic chunking: its default is one message per item.
        return lb_map(args.get("items", 2000), 1)
    if metric in ("scatter_ms", "gather_ms", "push_all_ms"):
        return move_ms(metric, args["mib"])
    if metric in ("push", "pull", "scatter", "gather"):
        return data_move(metric, args["mib"])
    if metric == "gemm":
        return gemm(np.float64 if args["dtype"] == "float64" else np.float32, args["n"])
    if metric == "lb_matmul":
        return lb_matmul(args["n"], args["tasks"])
    if metric == "engine_idle_rss_MB":
        return engine_rss_mb()
    raise ValueError(f"unknown metric {metric}")


def main():
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["op"] == "start":
                reply({"seconds": start(cmd.get("n", 2))})
            elif cmd["op"] == "restart":
                cluster.stop_cluster_sync()
                reply({"seconds": start(cmd.get("n", 2))})
            elif cmd["op"] == "run":
                reply({"value": run(cmd["metric"], cmd.get("args", {}))})
            elif cmd["op"] == "versions":
                reply({"python": sys.version.split()[0], "ipyparallel": ipp.__version__, "numpy": np.__version__})
            elif cmd["op"] == "stop":
                if cluster is not None:
                    cluster.stop_cluster_sync()
                reply({"stopped": True})
                return
        except Exception as e:  # report and keep serving: the harness decides
            reply({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
