"""Execute notebooks headless with nbclient and report one JSON line per notebook.

Usage: python execute_notebooks.py KERNEL_NAME OUT_DIR NOTEBOOK...

Each executed copy is written to OUT_DIR (errors included, so a failure can be read there).
The exit status is the number of notebooks that failed (capped at 100).
"""

import json
import os
import sys
import time
import traceback

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError


def execute(kernel_name, out_dir, path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=int(os.environ.get("TSPARALLEL_CELL_TIMEOUT", "900")),
        startup_timeout=120,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
    )
    started = time.monotonic()
    error = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as e:
        error = str(e)
    except Exception:  # a kernel that died or would not start
        error = traceback.format_exc()
    seconds = time.monotonic() - started
    out = os.path.join(out_dir, os.path.basename(path))
    nbformat.write(nb, out)
    return {"notebook": path, "output": out, "seconds": round(seconds, 2), "ok": error is None, "error": error}


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    kernel_name, out_dir, notebooks = argv[1], argv[2], argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    failed = 0
    for path in notebooks:
        result = execute(kernel_name, out_dir, path)
        failed += 0 if result["ok"] else 1
        print(json.dumps(result), flush=True)
    return min(failed, 100)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
