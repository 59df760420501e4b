"""Time a Jupyter kernel the way a notebook user feels it, through jupyter_client.

Usage: python kernel_timing.py KERNEL_NAME REPEATS [WARM_CELLS]

For each repeat: start the kernel and wait until it answers kernel_info and is idle
(kernel_start_s), run a first cell at once (kernel_first_cell_s), then time WARM_CELLS one-line
cells and keep their median (kernel_warm_cell_ms). Then start the kernel again, wait for
kernel_info, let it idle for IDLE_S seconds (a notebook user takes at least that long to run a
first cell) and time the first cell from there (kernel_first_cell_after_idle_s). Prints one JSON
line per repeat. The same cells run on every kernel, and each cell's output is checked before it
counts.
"""

import json
import statistics
import sys
import time

from jupyter_client.manager import KernelManager

FIRST_CELL = "const xs: number[] = [1, 2, 3];\nxs.map((x) => x * 2).reduce((a, b) => a + b, 0)"
FIRST_EXPECT = "12"
WARM_CELL = "1 + 1"
WARM_EXPECT = "2"
IDLE_S = 1.0


def run_cell(kc, code, timeout=120):
    """Execute code and return its text result (execute_result, or stdout for kernels without it)."""
    msg_id = kc.execute(code)
    text = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        t, c = msg["msg_type"], msg["content"]
        if t == "execute_result":
            text.append(c["data"].get("text/plain", ""))
        elif t == "stream" and c["name"] == "stdout":
            text.append(c["text"])
        elif t == "error":
            raise RuntimeError(f"cell failed: {c['ename']}: {c['evalue']}")
        elif t == "status" and c["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=timeout)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content']}")
    return "".join(text).strip()


def wait_for_kernel_info(kc, timeout=120):
    """Ready = the kernel answered kernel_info. (jupyter_client's wait_for_ready needs a
    `status` field that tslab's reply lacks.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg_id = kc.kernel_info()
        try:
            while True:
                reply = kc.get_shell_msg(timeout=1)
                if reply["parent_header"].get("msg_id") == msg_id:
                    return
        except Exception:  # queue.Empty: ask again
            continue
    raise RuntimeError("kernel did not answer kernel_info")


def first_cell(kc):
    """Seconds from sending the first cell to its reply, its output checked."""
    t = time.perf_counter()
    got = run_cell(kc, FIRST_CELL)
    seconds = time.perf_counter() - t
    if got != FIRST_EXPECT:
        raise RuntimeError(f"first cell gave {got!r}, expected {FIRST_EXPECT!r}")
    return seconds


def first_cell_after_idle(kernel_name):
    """A fresh kernel's first cell, sent IDLE_S seconds after it answered kernel_info."""
    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        wait_for_kernel_info(kc)
        time.sleep(IDLE_S)
        return first_cell(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def one_repeat(kernel_name, warm_cells):
    km = KernelManager(kernel_name=kernel_name)
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        wait_for_kernel_info(kc)
        start_s = time.perf_counter() - t0
        first_s = first_cell(kc)
        warm = []
        for _ in range(warm_cells):
            t2 = time.perf_counter()
            got = run_cell(kc, WARM_CELL)
            warm.append((time.perf_counter() - t2) * 1000)
            if got != WARM_EXPECT:
                raise RuntimeError(f"warm cell gave {got!r}, expected {WARM_EXPECT!r}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return {
        "kernel": kernel_name,
        "kernel_start_s": start_s,
        "kernel_first_cell_s": first_s,
        "kernel_warm_cell_ms": statistics.median(warm),
        "kernel_first_cell_after_idle_s": first_cell_after_idle(kernel_name),
    }


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    kernel_name, repeats = argv[1], int(argv[2])
    warm_cells = int(argv[3]) if len(argv) > 3 else 20
    for _ in range(repeats):
        print(json.dumps(one_repeat(kernel_name, warm_cells)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
