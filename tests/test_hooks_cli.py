"""`okta-chatops hooks`, run as an operator runs it (the CLI's main, in a thread of its own) against the
Okta simulator, which really calls our hook endpoint to verify it and then delivers events there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import yaml
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from alerts.receiver import HookConfig, HookOutcome, HookRequest, create_hook_app
from alerts.stream import STREAM_KEY
from alerts.subscriptions import hook_event_types
from bot.cli import main
from bot.hooks_cli import policy_event_types
from bot.server import BackgroundServer
from bot.settings import Settings
from oktaclient import OktaClient
from oktasim import OktaOrg
from policy import load_policy
from policy.sections import Alerts
from tests.alerts_support import POLICY_FILE, SECRET
from tests.conftest import SIM_API_TOKEN, free_port
from tests.hooks_support import WAS_THIS_YOU_HOOKED, hook_endpoint

Cli = Callable[..., Awaitable[tuple[int, str, str]]]
Seen = list[tuple[HookRequest, HookOutcome]]


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
def seen() -> Seen:
    """What the endpoint told its observer (the bot counts it in /metrics), request by request."""
    return []


@pytest.fixture
async def endpoint(redis: aioredis.Redis, seen: Seen) -> AsyncIterator[str]:
    """Our hook endpoint, configured with SECRET, as the bot serves it."""
    async with hook_endpoint(redis, SECRET, observe=lambda request, outcome: seen.append((request, outcome))) as url:
        yield url


async def stored(redis: aioredis.Redis) -> list[str]:
    return [fields["uuid"] for _, fields in await redis.xrange(STREAM_KEY)]


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
    # And what was_this_you asks about, which the alert rules alone would not post (INFO is dropped),
    # without the System Log's deny_push, which Okta lets no hook subscribe to.
    assert set(WAS_THIS_YOU_HOOKED) <= set(hook.events.items)
    assert "user.mfa.okta_verify.deny_push" not in hook.events.items

    okta_org.lock_out("erin.employee@acme.example", failures=2)
    await okta_org.hooks_idle()
    stored = [fields["uuid"] for _, fields in await redis.xrange(STREAM_KEY)]
    assert stored == [e["uuid"] for e in okta_org.log_events[-3:]]


async def test_registering_again_verifies_the_same_hook(hooks: Cli, endpoint: str, okta: OktaClient) -> None:
    first, second = [await hooks("register", "--url", endpoint) for _ in range(2)]
    assert first[0] == second[0] == 0, second[2]
    [hook] = await okta.list_event_hooks()  # the hook that carried the new secret through verification is gone
    assert f"Event hook {hook.id} ('okta-chatops alerts') already sends to {endpoint}: gave it OKTA_HOOK_SECRET" in (
        second[1]
    )
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


async def test_a_wrong_secret_changes_nothing_and_the_working_hook_keeps_delivering(
    hooks: Cli, endpoint: str, okta: OktaClient, okta_org: OktaOrg, redis: aioredis.Redis, seen: Seen,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    assert (await hooks("register", "--url", endpoint))[0] == 0
    [working] = await okta.list_event_hooks()
    seen.clear()

    monkeypatch.setenv("OKTA_HOOK_SECRET", "not-the-secret-the-bot-runs-with")
    code, _, err = await hooks("register", "--url", endpoint)
    assert code == 1
    assert "the endpoint refused the secret Okta sent; the bot there runs with another OKTA_HOOK_SECRET" in err
    assert f"Event hook {working.id} was left as it was: it keeps its secret and keeps delivering." in err
    assert "not-the-secret" not in err
    # The refusal was loud at the endpoint: counted, and logged without the secret.
    assert seen == [("verification", HookOutcome.WRONG_SECRET)]
    [refusal] = [r for r in caplog.records if r.name == "alerts.receiver"]
    assert refusal.levelname == "WARNING" and refusal.outcome == "wrong_secret"  # type: ignore[attr-defined]
    assert "not-the-secret" not in refusal.getMessage()

    assert await okta.list_event_hooks() == [working]  # the candidate is gone, the working hook untouched
    okta_org.lock_out("erin.employee@acme.example", failures=2)
    await okta_org.hooks_idle()
    assert await stored(redis) == [e["uuid"] for e in okta_org.log_events[-3:]]
    assert not [e for e in okta_org.log_events if e["eventType"] == "event_hook.delivery"]  # no failed delivery


class Swappable:
    """The bot at one URL whose configuration is rolled out anew: the app behind it can be replaced."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def test_the_secret_rotates_without_losing_an_event(
    hooks: Cli, okta: OktaClient, okta_org: OktaOrg, redis: aioredis.Redis, seen: Seen,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    new = "the-new-hook-secret-9876543210"

    def bot(secret: str, previous: str = "") -> ASGIApp:
        config = HookConfig(secret=SecretStr(secret), previous_secret=SecretStr(previous))
        return create_hook_app(config, redis, lambda request, outcome: seen.append((request, outcome)))

    people = iter(["erin.employee", "alex.kim", "alex.garcia", "arjun.approver"])

    async def okta_writes_events() -> None:
        okta_org.lock_out(f"{next(people)}@acme.example", failures=1)
        await okta_org.hooks_idle()

    swappable = Swappable(bot(SECRET))
    async with BackgroundServer(swappable) as server:
        url = f"{server.url}/okta/hooks"
        assert (await hooks("register", "--url", url))[0] == 0
        await okta_writes_events()
        # 1. the bot rolls out with the new secret, the old one as OKTA_HOOK_SECRET_PREVIOUS; Okta still sends the old
        swappable.app = bot(new, previous=SECRET)
        await okta_writes_events()
        # 2. the hook admin registers the new secret
        monkeypatch.setenv("OKTA_HOOK_SECRET", new)
        code, _out, err = await hooks("register", "--url", url)
        assert code == 0, err
        await okta_writes_events()
        # 3. the previous secret is dropped
        swappable.app = bot(new)
        await okta_writes_events()

    deliveries = [outcome for request, outcome in seen if request == "delivery"]
    assert deliveries == [
        HookOutcome.ACCEPTED, HookOutcome.ACCEPTED_PREVIOUS, HookOutcome.ACCEPTED, HookOutcome.ACCEPTED
    ]
    written = [e["uuid"] for e in okta_org.log_events if e["eventType"] in ("user.account.lock", "user.session.start")]
    assert await stored(redis) == written and len(written) == 8  # each lock-out: a failed sign-in and the lock
    assert not [e for e in okta_org.log_events if e["eventType"] == "event_hook.delivery"]


async def test_an_endpoint_okta_cannot_reach_is_explained_and_leaves_no_hook(hooks: Cli, okta: OktaClient) -> None:
    code, _, err = await hooks("register", "--url", f"http://127.0.0.1:{free_port()}/okta/hooks")
    assert code == 1
    assert "Okta could not reach it; the bot must be running there" in err
    assert "Removed event hook who" in err and "again: the org's hooks are as they were." in err
    assert await okta.list_event_hooks() == []  # no unverified hook stays behind, ACTIVE and receiving nothing


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
    assert code == 2 and "POLICY_FILE has no 'alerts' or 'was_this_you' section" in err

    code, _, err = await hooks("register", "--url", "bot.example.com/okta/hooks")
    assert code == 2 and "--url must be the endpoint's http(s) URL" in err

    monkeypatch.delenv("OKTA_ORG_URL")
    monkeypatch.delenv("OKTA_API_TOKEN")
    code, _, err = await hooks("list")
    assert code == 2 and "OKTA_ORG_URL and its credentials must be set" in err
    assert okta_org.requests == []


async def test_list_shows_which_hook_is_this_bot_and_which_are_strays(
    hooks: Cli, endpoint: str, okta: OktaClient
) -> None:
    assert (await hooks("list"))[:2] == (0, "No event hooks.\n")
    await hooks("register", "--url", endpoint)
    node = endpoint.replace("127.0.0.1", "localhost")  # the bot at another address: a node's, or a typo
    stray = await okta.create_event_hook("okta-chatops alerts", node, ["user.account.lock"], secret=SECRET)
    siem = await okta.create_event_hook("SIEM", "https://siem.example/okta", ["user.account.lock"], secret="x" * 20)
    [ours] = [h for h in await okta.list_event_hooks() if h.id not in (stray.id, siem.id)]

    code, out, _ = await hooks("list", "--url", endpoint)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{ours.id}  ACTIVE  VERIFIED  {endpoint}  'okta-chatops alerts'  (")
    assert lines[0].endswith("  [this bot]")
    assert lines[1].startswith(f"{stray.id}  ACTIVE  UNVERIFIED  {node}  ")
    assert lines[1].endswith("  [stray: an okta-chatops hook at another URL]")
    assert lines[2].endswith("  [another integration]")
    assert lines[3] == (
        f"1 stray hook(s): remove them with `okta-chatops hooks delete {stray.id}`, or "
        f"`okta-chatops hooks register --replace --url {endpoint}`."
    )
    # without the URL, which okta-chatops hook is this bot's cannot be known: both are named as ours
    code, out, _ = await hooks("list")
    assert [line.rsplit("  ", 1)[1] for line in out.splitlines()[:3]] == ["[okta-chatops]"] * 2 + [
        "[another integration]"
    ]
    assert out.splitlines()[3].startswith("2 hooks send to okta-chatops endpoints: give --url")


async def test_register_names_the_strays_and_replace_removes_them(
    hooks: Cli, endpoint: str, okta: OktaClient, okta_org: OktaOrg, redis: aioredis.Redis
) -> None:
    # registered first with a node's own address, then moved behind the load balancer
    node = endpoint.replace("127.0.0.1", "localhost")
    assert (await hooks("register", "--url", node))[0] == 0
    [old] = await okta.list_event_hooks()
    siem = await okta.create_event_hook("SIEM", "https://siem.example/okta", ["user.account.lock"], secret="x" * 20)

    code, _, err = await hooks("register", "--url", endpoint)
    assert code == 0
    assert f"event hook {old.id} ('okta-chatops alerts', {node}, ACTIVE VERIFIED) is a stray: an okta-chatops " in err
    assert "Run again with --replace to remove it" in err
    assert len(await okta.list_event_hooks()) == 3

    code, out, err = await hooks("register", "--url", endpoint, "--replace")
    assert code == 0, err
    assert f"Removed event hook {old.id} ('okta-chatops alerts', {node}, ACTIVE VERIFIED): stray:" in out
    remaining = await okta.list_event_hooks()
    assert [h.channel.config.uri for h in remaining] == ["https://siem.example/okta", endpoint]  # never another's
    assert siem.id in [h.id for h in remaining]

    okta_org.lock_out("erin.employee@acme.example", failures=1)
    await okta_org.hooks_idle()
    assert await stored(redis) == [e["uuid"] for e in okta_org.log_events[-2:]]  # once each, not twice


async def test_delete_removes_hooks_by_id(hooks: Cli, endpoint: str, okta: OktaClient) -> None:
    await hooks("register", "--url", endpoint)
    [hook] = await okta.list_event_hooks()
    code, _, err = await hooks("delete", "who-no-such-hook", str(hook.id))
    assert code == 2
    assert "no event hook who-no-such-hook in this org (nothing was deleted)" in err
    assert len(await okta.list_event_hooks()) == 1

    code, out, _ = await hooks("delete", str(hook.id))
    assert code == 0
    assert out == f"Deleted event hook {hook.id} ('okta-chatops alerts', {endpoint}).\n"
    assert await okta.list_event_hooks() == []


async def test_a_credential_that_may_not_manage_hooks_is_told_what_to_fix(
    hooks: Cli, endpoint: str, okta_org: OktaOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    okta_org.add_api_token("00helpdesk-admins-token", ["okta.users.manage", "okta.groups.manage"])
    monkeypatch.setenv("OKTA_API_TOKEN", "00helpdesk-admins-token")
    code, _, err = await hooks("register", "--url", endpoint)
    assert code == 1
    assert "Okta refused: 403 E0000006: You do not have permission to perform the requested action" in err
    assert "fix OKTA_API_TOKEN: the token's admin may not manage event hooks: use a token created by a Super " in err


async def test_a_service_app_without_the_hook_scope_is_stopped_before_okta_is_asked(
    hooks: Cli, okta_org: OktaOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OKTA_API_TOKEN")
    monkeypatch.setenv("OKTA_CLIENT_ID", "0oachatops")
    monkeypatch.setenv("OKTA_PRIVATE_KEY", _private_key_pem())
    monkeypatch.setenv("OKTA_SCOPES", "okta.users.manage okta.groups.manage")
    code, _, err = await hooks("register", "--url", "https://bot.example.com/okta/hooks")
    assert code == 2
    assert "OKTA_SCOPES lacks okta.eventHooks.manage, which `hooks register` needs" in err
    code, _, err = await hooks("list")
    assert code == 2 and "OKTA_SCOPES lacks okta.eventHooks.read, which `hooks list` needs" in err
    assert okta_org.requests == []


def _private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


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


@pytest.mark.parametrize(
    ("ask", "hooked", "not_hooked"),
    [
        ({}, WAS_THIS_YOU_HOOKED, ("user.mfa.okta_verify.deny_push",)),
        (  # a signal switched off needs no subscription; an employee's own report is always read
            {"factor_enrolled": False, "push_bombing": {"enabled": False}, "new_country": {"enabled": False}},
            ("user.account.report_suspicious_activity_by_enduser", "user.mfa.factor.deactivate"),
            ("user.mfa.factor.activate", "user.authentication.auth_via_mfa", "user.session.start"),
        ),
    ],
)
def test_default_event_types_add_what_was_this_you_asks_about(
    ask: dict[str, object], hooked: tuple[str, ...], not_hooked: tuple[str, ...], tmp_path: Path
) -> None:
    raw = yaml.safe_load(POLICY_FILE.read_text())
    del raw["alerts"]  # the questions alone
    raw["was_this_you"]["ask"] = ask
    types = policy_event_types(load_policy(policy_file(tmp_path, raw)))
    assert set(hooked) <= set(types) and not set(not_hooked) & set(types)
    assert types == sorted(types)


def policy_file(tmp_path: Path, raw: dict[str, object]) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path
