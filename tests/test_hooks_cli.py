"""`okta-chatops hooks`, run as an operator runs it (the CLI's main, in a thread of its own) against the
Okta simulator, which really calls our hook endpoint to verify it and then delivers events there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from alerts.receiver import HookConfig, create_hook_app
from alerts.stream import STREAM_KEY
from alerts.subscriptions import hook_event_types
from bot.cli import main
from bot.server import BackgroundServer
from bot.settings import Settings
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy.sections import Alerts
from tests.alerts_support import POLICY_FILE, SECRET
from tests.conftest import SIM_API_TOKEN, free_port

Cli = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, okta_sim: BackgroundServer) -> None:
    """Settings as an operator would have them for a real org (here the simulator's URL), nothing else."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("OKTA_ORG_URL", okta_sim.url)
    monkeypatch.setenv("OKTA_API_TOKEN", SIM_API_TOKEN)
    monkeypatch.setenv("OKTA_HOOK_SECRET", SECRET)
    monkeypatch.setenv("POLICY_FILE", str(POLICY_FILE))
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
async def endpoint(redis: aioredis.Redis) -> AsyncIterator[str]:
    """Our hook endpoint, configured with SECRET, as the bot serves it."""
    async with BackgroundServer(create_hook_app(HookConfig(secret=SecretStr(SECRET)), redis)) as server:
        yield f"{server.url}/okta/hooks"


@pytest.fixture
def hooks(capsys: pytest.CaptureFixture[str], configured: None) -> Cli:
    async def run(*argv: str) -> tuple[int, str, str]:
        """`okta-chatops hooks ...`: exit code, stdout, stderr. Its own thread and loop, as in a shell;
        this loop keeps serving the simulator and the endpoint meanwhile."""
        code = await asyncio.to_thread(main, ["hooks", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def test_register_creates_verifies_and_activates_then_okta_delivers(
    hooks: Cli, endpoint: str, okta: OktaClient, okta_org: OktaOrg, redis: aioredis.Redis
) -> None:
    code, out, err = await hooks("register", "--url", endpoint)
    assert code == 0, err
    [hook] = await okta.list_event_hooks()
    assert (hook.status, hook.verificationStatus, hook.channel.config.uri) == ("ACTIVE", "VERIFIED", endpoint)
    assert f"Event hook {hook.id} is verified and active" in out
    # The policy's alert rules, as Okta allows them: lock-outs and sign-ins yes, system.* (dropped) no.
    assert {"user.account.lock", "user.session.start", "group.user_membership.add"} <= set(hook.events.items)
    assert not [t for t in hook.events.items if t.startswith("system.")]

    okta_org.lock_out("erin.employee@acme.example", failures=2)
    await okta_org.hooks_idle()
    stored = [fields["uuid"] for _, fields in await redis.xrange(STREAM_KEY)]
    assert stored == [e["uuid"] for e in okta_org.log_events[-3:]]


async def test_registering_again_verifies_the_same_hook(hooks: Cli, endpoint: str, okta: OktaClient) -> None:
    first, second = [await hooks("register", "--url", endpoint) for _ in range(2)]
    assert first[0] == second[0] == 0, second[2]
    [hook] = await okta.list_event_hooks()
    assert f"Event hook {hook.id} ('okta-chatops alerts') already sends to {endpoint}: updated its secret" in second[1]
    assert "Created" not in second[1] and "now also subscribes" not in second[1]


async def test_registering_again_adds_the_event_types_the_policy_needs_and_keeps_the_rest(
    hooks: Cli, endpoint: str, okta: OktaClient
) -> None:
    made_by_hand = await okta.create_event_hook(
        "SIEM and chatops", endpoint, ["user.account.lock", "application.lifecycle.create"], secret=SECRET
    )
    code, out, err = await hooks("register", "--url", endpoint)
    assert code == 0, err
    [hook] = await okta.list_event_hooks()
    assert hook.id == made_by_hand.id and hook.name == "SIEM and chatops"
    assert {"application.lifecycle.create", "user.account.lock", "user.session.start"} <= set(hook.events.items)
    assert "It now also subscribes to " in out and "user.session.start" in out
    assert (hook.status, hook.verificationStatus) == ("ACTIVE", "VERIFIED")


async def test_a_secret_the_endpoint_does_not_know_is_explained(
    hooks: Cli, endpoint: str, okta: OktaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_HOOK_SECRET", "not-the-secret-the-bot-runs-with")
    code, _, err = await hooks("register", "--url", endpoint)
    assert code == 1
    assert "the endpoint refused the secret Okta sent; the bot there runs with another OKTA_HOOK_SECRET" in err
    assert "not-the-secret" not in err
    [hook] = await okta.list_event_hooks()
    assert hook.verificationStatus == "UNVERIFIED"

    # With the secret the bot runs with, registering again gives the same hook that secret.
    monkeypatch.setenv("OKTA_HOOK_SECRET", SECRET)
    code, _, err = await hooks("register", "--url", endpoint)
    assert code == 0, err
    [again] = await okta.list_event_hooks()
    assert again.id == hook.id and (again.status, again.verificationStatus) == ("ACTIVE", "VERIFIED")


async def test_an_endpoint_okta_cannot_reach_is_explained(hooks: Cli) -> None:
    code, _, err = await hooks("register", "--url", f"http://127.0.0.1:{free_port()}/okta/hooks")
    assert code == 1
    assert "Okta could not reach it; the bot must be running there" in err


async def test_event_types_may_be_named_or_globbed(hooks: Cli, endpoint: str, okta: OktaClient) -> None:
    code, _, err = await hooks(
        "register", "--url", endpoint, "--event-type", "user.account.lock", "--event-type", "user.session.s*"
    )
    assert code == 0, err
    [hook] = await okta.list_event_hooks()
    assert hook.events.items == ["user.account.lock", "user.session.start"]

    code, _, err = await hooks("register", "--url", endpoint, "--event-type", "security.threat.detected")
    assert code == 2
    assert "--event-type security.threat.detected: not an event type Okta allows for event hooks" in err


async def test_what_is_missing_is_said_before_okta_is_asked(
    hooks: Cli, okta_org: OktaOrg, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OKTA_HOOK_SECRET")
    code, _, err = await hooks("register", "--url", "https://bot.example.com/okta/hooks")
    assert code == 2 and "OKTA_HOOK_SECRET must be set" in err

    monkeypatch.setenv("OKTA_HOOK_SECRET", SECRET)
    no_alerts = tmp_path / "policy.yaml"
    no_alerts.write_text(
        'roles: {helpdesk: {okta_groups: [Helpdesk]}}\napprovals: {channel: "#approvals", approver_role: helpdesk}\n'
    )
    monkeypatch.setenv("POLICY_FILE", str(no_alerts))
    code, _, err = await hooks("register", "--url", "https://bot.example.com/okta/hooks")
    assert code == 2 and "POLICY_FILE has no 'alerts' section" in err

    code, _, err = await hooks("register", "--url", "bot.example.com/okta/hooks")
    assert code == 2 and "--url must be the endpoint's http(s) URL" in err

    monkeypatch.delenv("OKTA_ORG_URL")
    monkeypatch.delenv("OKTA_API_TOKEN")
    code, _, err = await hooks("list")
    assert code == 2 and "OKTA_ORG_URL and its credentials must be set" in err
    assert okta_org.requests == []


async def test_list_shows_each_hook_and_its_state(hooks: Cli, endpoint: str, okta: OktaClient) -> None:
    assert (await hooks("list"))[:2] == (0, "No event hooks.\n")
    await hooks("register", "--url", endpoint)
    [hook] = await okta.list_event_hooks()
    code, out, _ = await hooks("list")
    assert code == 0
    assert out.startswith(f"{hook.id}  ACTIVE  VERIFIED  {endpoint}  'okta-chatops alerts'  (")


ELIGIBLE = ["system.api_token.create", "system.import.start", "user.account.lock", "user.session.start", "app.x"]


@pytest.mark.parametrize(
    ("rules", "subscribed"),
    [
        ([], ["user.account.lock", "user.session.start"]),  # the types with a layout of their own
        (  # a posting rule names a type; a drop rule that looks at the type alone removes the rest
            [
                {"match": {"event_type": "system.api_token.*", "outcome": "FAILURE"}, "channel": "#sec"},
                {"match": {"event_type": ["system.*", "user.session.*"]}, "drop": True},
            ],
            ["system.api_token.create", "user.account.lock"],
        ),
        (  # drops that look at more than the type, and posts that do not look at it, change nothing
            [
                {"match": {"event_type": "user.*", "severity": "INFO"}, "drop": True},
                {"match": {"actor": "*@acme.example"}, "channel": "#sec"},
            ],
            ["user.account.lock", "user.session.start"],
        ),
        ([{"match": {}, "drop": True}, {"match": {"event_type": "app.*"}, "channel": "#sec"}], []),
    ],
)
def test_default_event_types_are_what_the_rules_can_post(rules: list[dict[str, object]], subscribed: list[str]) -> None:
    alerts = Alerts.model_validate({"default_channel": "#security-alerts", "rules": rules})
    assert hook_event_types(alerts.rules, ELIGIBLE) == subscribed
