"""`okta-chatops serve` as a real child process, configured by environment like a deployment."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.conftest import free_port

BANNER = "listening on "


@asynccontextmanager
async def serve_process(
    env: dict[str, str], data_dir: Path, *, ready_within: float = 30.0, output: list[str] | None = None
) -> AsyncIterator[str]:
    """Start the bot with `env` on a free port; yields its base URL once it prints its banner (the
    socket is bound before the banner, so requests from then on queue until they are served).
    What it prints is collected in `output`, when given."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OKTA_", "REDIS_", "POLICY_"))}
    full_env |= {"DATA_DIR": str(data_dir), **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", str(port),
        env=full_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = [] if output is None else output
    try:
        url = await asyncio.wait_for(_banner_url(process.stdout, output), ready_within)
        # keep reading, or a full pipe would block the child's logging
        drain = asyncio.create_task(_collect(process.stdout, output))
        yield url
    except Exception as exc:
        raise RuntimeError("okta-chatops serve failed; its output:\n" + "".join(output)) from exc
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 15)
        if "drain" in locals():
            await drain


async def _banner_url(stream: asyncio.StreamReader, output: list[str]) -> str:
    while line := (await stream.readline()).decode():
        output.append(line)
        if BANNER in line:
            return line.split(BANNER, 1)[1].strip()
    raise RuntimeError("the process ended before it was listening")


async def _collect(stream: asyncio.StreamReader, output: list[str]) -> None:
    while line := await stream.readline():
        output.append(line.decode())
