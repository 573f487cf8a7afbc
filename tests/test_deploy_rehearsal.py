"""docs/deploy.md rehearsed against the stand-ins, as an administrator follows it, from a fresh virtual
environment installed from requirements.lock: keygen, the service app registered in the Okta simulator
from its CLI, the settings from deploy/okta-chatops.env.example, `check`, `serve`, `hooks register`,
a lookup and an approval. Every step runs the installed `okta-chatops` command; only Slack is played
in-process (the Slack stand-in has no command of its own). The time of each step is printed (-s).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from bot.server import BackgroundServer
from slacksim import SlackWorkspace
from tests.chatops_support import ARJUN, EXAMPLE_POLICY, HANA
from tests.conftest import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HOOK_ADMIN_TOKEN = "00hook-admin-token-for-the-rehearsal"
ALEX = "alex.kim@acme.example"


class Steps:
    """The time each step of the rehearsal took."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._started = time.monotonic()

    def done(self, step: str) -> None:
        now = time.monotonic()
        self.times[step] = now - self._started
        self._started = now

    def report(self) -> str:
        lines = [f"  {step:<34} {seconds:6.1f} s" for step, seconds in self.times.items()]
        return "\n".join(["docs/deploy.md rehearsal:", *lines, f"  {'total':<34} {sum(self.times.values()):6.1f} s"])


async def run(*command: str | Path, env: dict[str, str] | None = None, stdout: int | None = None) -> tuple[int, str]:
    """(exit code, what it printed); with `stdout` (a file), what it printed on stderr."""
    if stdout is None:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await process.communicate()
    else:
        process = await asyncio.create_subprocess_exec(*command, env=env, stdout=stdout, stderr=asyncio.subprocess.PIPE)
        _, output = await process.communicate()
    return await process.wait(), output.decode()


@asynccontextmanager
async def background(*command: str | Path, env: dict[str, str], until: str) -> AsyncIterator[tuple[list[str], str]]:
    """A long-running command: yields (its output so far, the line containing `until`) once it prints that."""
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert process.stdout is not None
    output: list[str] = []

    async def first(marker: str) -> str:
        assert process.stdout is not None
        while line := (await process.stdout.readline()).decode():
            output.append(line)
            if marker in line:
                return line
        raise RuntimeError("ended before " + marker + ":\n" + "".join(output))

    async def drain() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            output.append(line.decode())

    found = await asyncio.wait_for(first(until), 60)
    draining = asyncio.create_task(drain())
    try:
        yield output, found
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)
        await draining


def env_file(path: Path) -> dict[str, str]:
    """VAR=value lines as `docker run --env-file` reads them."""
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


async def test_the_deploy_guide_against_the_stand_ins(
    ws: SlackWorkspace, slack: BackgroundServer, redis_url: str, tmp_path: Path
) -> None:
    steps = Steps()
    base_env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "data")}

    # 1. Install: a fresh virtual environment from the lock file, as the image is built; the project from
    # a copy, since building it writes into the source folder.
    venv, source = tmp_path / "venv", tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "tests", "bench", "build", "*.egg-info", "data"))
    assert (await run(sys.executable, "-m", "venv", venv))[0] == 0
    pip = venv / "bin" / "pip"
    code, out = await run(pip, "install", "--quiet", "--require-hashes", "-r", ROOT / "requirements.lock", env=base_env)
    assert code == 0, out
    code, out = await run(pip, "install", "--quiet", "--no-deps", source, env=base_env)
    assert code == 0, out
    okc = venv / "bin" / "okta-chatops"
    steps.done("install (fresh venv, locked)")

    # 3.1 The service app's key pair: the private key for the bot, the public JWK for Okta.
    key, jwk = tmp_path / "okta-chatops.key", tmp_path / "okta-chatops.jwk.json"
    with jwk.open("w") as public:
        code, out = await run(okc, "okta", "keygen", "--out", key, env=base_env, stdout=public.fileno())
    assert code == 0, out
    kid = json.loads(jwk.read_text())["kid"]
    steps.done("okta keygen")

    # 3.2-3.4 The service app, registered in the Okta stand-in with that JWK (its Admin Console step).
    sim_port = free_port()
    async with background(
        okc, "okta-sim", "--port", str(sim_port), "--token", HOOK_ADMIN_TOKEN, "--service-app-key", jwk,
        env=base_env, until="listening on",
    ) as (sim_output, _):
        [registered] = [line for line in sim_output if line.startswith("Service app")]
        client_id = re.search(r"client id (0oa\w{17})", registered).group(1)  # type: ignore[union-attr]
        assert kid in registered
        org_url = f"http://127.0.0.1:{sim_port}"
        steps.done("service app registered (okta-sim)")

        # 4. Settings: the example file, filled in.
        hook_secret = secrets.token_hex(32)
        values = {
            "SLACK_BOT_TOKEN": ws.bot_token, "SLACK_SIGNING_SECRET": ws.signing_secret, "OKTA_ORG_URL": org_url,
            "OKTA_CLIENT_ID": client_id, "OKTA_PRIVATE_KEY": str(key), "OKTA_HOOK_SECRET": hook_secret,
        }
        example = env_file(ROOT / "deploy" / "okta-chatops.env.example")
        assert set(values) == set(example)
        settings = tmp_path / "okta-chatops.env"
        settings.write_text("".join(f"{name}={values[name]}\n" for name in example))
        # what the container gets besides (compose sets these; SLACK_API_URL only for the stand-in)
        env = base_env | env_file(settings) | {
            "REDIS_URL": redis_url, "POLICY_FILE": str(EXAMPLE_POLICY), "SLACK_API_URL": f"{slack.url}/api/",
        }
        steps.done("settings")

        # 5. check
        code, out = await run(okc, "check", env=env)
        assert code == 0, out
        assert "✗" not in out and f"OAuth service app {client_id}" in out
        steps.done("check")

        # 6. serve
        port = free_port()
        async with background(okc, "serve", "--port", str(port), env=env, until="listening on") as (started, _):
            bot = f"http://127.0.0.1:{port}"
            assert not [line for line in started if "WARNING" in line or "ERROR" in line], "".join(started)
            steps.done("serve (until listening)")

            # 7. The event hook, registered with the hook admin's credential.
            hook_admin = {k: v for k, v in env.items() if k not in ("OKTA_CLIENT_ID", "OKTA_PRIVATE_KEY")}
            hook_admin["OKTA_API_TOKEN"] = HOOK_ADMIN_TOKEN
            code, out = await run(okc, "hooks", "register", "--url", f"{bot}/okta/hooks", env=hook_admin)
            assert code == 0, out
            steps.done("hooks register")

            # A lookup, as the helpdesk types it in Slack.
            await ws.send(f"{bot}/slack/events", ws.slash_command(HANA, "lookup erin.employee@acme.example"))
            await ws.wait_for_message(lambda _: any("erin" in str(m.blocks) for m in ws.ephemerals(HANA)), 20)
            steps.done("a lookup")

            # An approval: hana asks to suspend alex, arjun approves in #approvals.
            await ws.send(f"{bot}/slack/events", ws.slash_command(HANA, f"suspend {ALEX}"))
            opened = await ws.wait_for(lambda c: c.method == "views.open" and c.ok, 20)
            await ws.send(f"{bot}/slack/events", ws.view_submission(HANA, ws.view(opened.result["view"]["id"])))
            request = await ws.wait_for_message(
                lambda m: m.channel == ws.channel_id("approvals") and "Approve" in str(m.blocks), 20
            )
            await ws.send(f"{bot}/slack/events", ws.block_action(ARJUN, "approval:approve", message=request))
            await ws.wait_for_message(lambda m: m.ts == request.ts and "done" in str(m.blocks), 20)
            async with httpx.AsyncClient(headers={"Authorization": f"SSWS {HOOK_ADMIN_TOKEN}"}) as admin:
                alex = (await admin.get(f"{org_url}/api/v1/users/{ALEX}")).json()
            assert alex["status"] == "SUSPENDED"
            steps.done("an approval")
    print("\n" + steps.report())
