"""`check`'s look at what this deployment holds itself: the secrets' form, the policy file, Redis."""

from __future__ import annotations

import asyncio
import re

from bot.check_report import Mark, Result, failed, passed, skipped
from bot.redis_client import connect_redis
from bot.settings import Settings
from policy import Policy, PolicyError, load_policy

MIN_REDIS = (6, 2)  # the alert workers claim stale stream entries with XAUTOCLAIM (6.2)
TIMEOUT_SECONDS = 10.0
MIN_HOOK_SECRET = 16  # characters: a shorter shared secret can be guessed
_SLACK_SIGNING_SECRET = re.compile(r"[0-9a-f]{32}")  # what Slack issues


def hooks_deliver_alerts(settings: Settings, policy: Policy | None) -> bool:
    """Okta's alerts reach the bot through its event hook (not the System Log poller, not the sandbox)."""
    return settings.okta_configured and not settings.okta_poll_logs and policy is not None and policy.alerts is not None


def secrets(settings: Settings, policy: Policy | None) -> Result:
    """The secrets' form: what settings cannot judge without the policy, or Slack's format."""
    checked: list[str] = []
    problems: list[str] = []
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "OKTA_API_TOKEN"):
        value = getattr(settings, name.lower())
        if value is not None and value.get_secret_value() != value.get_secret_value().strip():
            problems.append(f"{name}: has spaces or a line break at an end (copied with it?): remove them")
    if settings.slack_configured and not settings.socket_mode:
        checked.append("SLACK_SIGNING_SECRET")
        signing = settings.slack_signing_secret.get_secret_value().strip()  # type: ignore[union-attr]
        if not _SLACK_SIGNING_SECRET.fullmatch(signing):
            problems.append(
                "SLACK_SIGNING_SECRET: not a Slack signing secret (32 hexadecimal characters), so every request "
                "from Slack would be refused: copy Basic Information > App Credentials > Signing Secret"
            )
    hook = settings.okta_hook_secret.get_secret_value() if settings.okta_hook_secret else ""
    if hooks_deliver_alerts(settings, policy):
        checked.append("OKTA_HOOK_SECRET")
        if not hook:
            problems.append(
                "OKTA_HOOK_SECRET: not set, so the bot refuses every event hook delivery and no Okta alert arrives: "
                "set a long random value (openssl rand -hex 32), then run `okta-chatops hooks register`"
            )
        elif len(hook) < MIN_HOOK_SECRET:
            problems.append(f"OKTA_HOOK_SECRET: shorter than {MIN_HOOK_SECRET} characters: anyone could guess it")
    if problems:
        return failed("secrets", "cannot work as set", tuple(problems))
    previous = settings.previous_hook_secret
    if previous:
        same = previous == hook
        note = (
            "OKTA_HOOK_SECRET_PREVIOUS: the same as OKTA_HOOK_SECRET: unset it"
            if same
            else "OKTA_HOOK_SECRET_PREVIOUS: a rotation is under way: once `okta-chatops hooks register` has run with "
            "the new OKTA_HOOK_SECRET (okc_hook_requests_total{outcome=\"accepted_previous_secret\"} stops rising), "
            "unset it"
        )
        return Result("secrets", Mark.WARNING, "well formed; the previous hook secret is still accepted", (note,))
    if not checked:
        return skipped("secrets", "no Slack signing secret or hook secret needed by what is configured")
    return passed("secrets", f"{', '.join(checked)} well formed")


def policy(settings: Settings) -> tuple[Result, Policy | None]:
    if settings.policy_file is None:
        return skipped("policy", "no POLICY_FILE and no --policy"), None
    try:
        loaded = load_policy(settings.policy_file)
    except PolicyError as exc:
        return failed("policy", f"{exc.source}: {len(exc.problems)} problem(s)", tuple(exc.problems)), None
    # which membership changes always need approval, and why: the derived groups are easy to overlook
    privileged = tuple(f"privileged group {group!r}: {'; '.join(why)}" for group, why in loaded.privileged.items())
    return passed("policy", f"{settings.policy_file} is valid ({len(loaded.roles)} roles)", privileged), loaded


async def redis(settings: Settings) -> Result:
    if settings.redis_embedded:
        return _embedded(settings)
    client = connect_redis(settings)  # the bot's own client: Sentinel, TLS and ACL settings as it uses them
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):  # rather than the client's retries, when nothing answers
            server = await client.redis.info("server")
            replication = await client.redis.info("replication")
    finally:
        await client.aclose()
    version, where, role = str(server["redis_version"]), client.where, replication["role"]
    if tuple(int(part) for part in version.split(".")[:2]) < MIN_REDIS:
        return failed("redis", f"Redis {version} at {where}: {'.'.join(map(str, MIN_REDIS))} or later is needed")
    if role != "master":
        return failed("redis", f"Redis {version} at {where} is a {role}: point REDIS_URL at the primary")
    replicas, acks = int(replication.get("connected_slaves", 0)), settings.redis_replica_acks
    if replicas < acks:  # every write would wait for acknowledgements that cannot come
        return failed(
            "redis", f"Redis {version} at {where}: each write needs {acks} replica(s) to acknowledge it "
            f"(REDIS_WAIT_REPLICAS), the primary has {replicas}",
        )
    return passed("redis", f"Redis {version} at {where}, primary" + (f" with {replicas} replica(s)" if replicas else ""))


EMBEDDED_REDIS_WARNING = (
    "no REDIS_URL: each replica runs an embedded Redis of its own under DATA_DIR. Fine for one replica "
    "with a persistent volume; two or more would each keep their own approvals, alerts and replay "
    "protection: set REDIS_URL (or REDIS_SENTINELS) to one shared Redis (docs/deploy.md, Redis)"
)


def _embedded(settings: Settings) -> Result:
    if settings.slack_configured and settings.okta_configured:
        return Result("redis", Mark.WARNING, EMBEDDED_REDIS_WARNING)
    return skipped("redis", "not configured: the bot runs an embedded Redis under DATA_DIR")


