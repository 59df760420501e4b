"""The Node cluster service, seen from the Jupyter server: one child process, JSON lines both ways."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
from logging import Logger
from pathlib import Path
from typing import Any

# This file is <package root>/extension/server/tsparallel_lab/cluster_service.py.
PACKAGE_ROOT = Path(__file__).resolve().parents[3]
SERVICE_MAIN = PACKAGE_ROOT / "dist" / "kernel" / "lab" / "cluster-service" / "main.js"

# A listing of many clusters with many engines is one line; asyncio's default limit is 64 KiB.
LINE_LIMIT = 64 * 1024 * 1024


class ClusterServiceError(Exception):
    """A request that failed; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def default_command() -> list[str]:
    """How to start the service: $TSPARALLEL_NODE (set by `tsparallel lab`) or `node` on PATH."""
    node = os.environ.get("TSPARALLEL_NODE") or shutil.which("node") or "node"
    return [node, str(SERVICE_MAIN)]


class ClusterServiceProcess:
    """Starts the cluster service on first use, restarts it if it died, and matches answers to requests.

    Requests run concurrently in the service; each carries an id that its answer repeats.
    The service exits by itself when this process (and so its stdin) goes away.
    """

    def __init__(self, command: list[str], log: Logger):
        self._command = command
        self._log = log
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        # The event loop keeps only weak references to tasks: these keep the readers alive.
        self._tasks: set[asyncio.Task[None]] = set()

    async def request(self, op: str, timeout: float = 120.0, **args: Any) -> Any:
        """Sends one request and returns its result; raises ClusterServiceError when it fails."""
        proc = await self._ensure_running()
        rid = next(self._ids)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = answer
        try:
            assert proc.stdin is not None
            proc.stdin.write((json.dumps({"id": rid, "op": op, **args}) + "\n").encode())
            await proc.stdin.drain()
            if proc.returncode is not None:
                raise BrokenPipeError  # it exited before its reader could fail this request
            return await asyncio.wait_for(answer, timeout)
        except asyncio.TimeoutError:
            raise ClusterServiceError(
                504, f"the cluster service did not answer '{op}' within {timeout:.0f} s"
            ) from None
        except (BrokenPipeError, ConnectionResetError):
            raise ClusterServiceError(
                503, "the cluster service stopped; it restarts on the next request (see the server log)"
            ) from None
        finally:
            self._pending.pop(rid, None)

    async def _ensure_running(self) -> asyncio.subprocess.Process:
        async with self._lock:
            if self._proc is not None and self._proc.returncode is None:
                return self._proc
            script = Path(self._command[-1])
            if script.suffix == ".js" and not script.exists():
                raise ClusterServiceError(
                    503,
                    f"the cluster service is not built ({script} is missing): run `npm run build` in {PACKAGE_ROOT}",
                )
            try:
                proc = await asyncio.create_subprocess_exec(
                    *self._command,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    limit=LINE_LIMIT,
                )
            except OSError as e:
                raise ClusterServiceError(
                    503,
                    f"cannot start the cluster service ({' '.join(self._command)}): {e}; "
                    "is Node.js installed? (set TSPARALLEL_NODE to its path)",
                ) from None
            self._log.info("tsparallel_lab: cluster service started (pid %s)", proc.pid)
            self._proc = proc
            for reader in (self._read_answers(proc), self._copy_log(proc)):
                task = asyncio.ensure_future(reader)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return proc

    async def _read_answers(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            try:
                msg = json.loads(line)
                answer = self._pending.get(msg["id"])
            except (ValueError, KeyError, TypeError):
                self._log.warning("tsparallel_lab: unreadable answer from the cluster service: %r", line[:200])
                continue
            if answer is None or answer.done():
                continue  # its request timed out
            if msg.get("ok"):
                answer.set_result(msg.get("result"))
            else:
                answer.set_exception(ClusterServiceError(int(msg.get("status", 500)), str(msg.get("error"))))
        code = await proc.wait()
        self._log.warning("tsparallel_lab: the cluster service exited (code %s)", code)
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(
                    ClusterServiceError(
                        503,
                        f"the cluster service exited (code {code}) before answering; "
                        "it restarts on the next request (see the server log)",
                    )
                )

    async def _copy_log(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while True:
            line = await proc.stderr.readline()
            if not line:
                return
            self._log.info("tsparallel_lab: %s", line.decode(errors="replace").rstrip())
