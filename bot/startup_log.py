"""What `serve` puts in its JSON log at start-up: the banner it prints, and whatever would otherwise
fail silently later: Okta or Slack refusing the bot's credentials (with the fix, bot/advice.py), an
embedded Redis in production (each replica would keep state of its own), a missing hook secret.

`check` says the same and more; this is for the deployment nobody ran `check` on, whose logs are
read only once something is wrong.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.advice import Advice, okta_advice, slack_advice
from bot.check_config import EMBEDDED_REDIS_WARNING, hooks_deliver_alerts
from bot.settings import Settings
from oktaclient import OktaClient, OktaError
from policy import Policy

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0  # a start-up waits at most this long for Okta and Slack to answer


def log_banner(lines: list[str]) -> None:
    """The printed banner as one log record: its last line as the message, the rest as a field."""
    log.info(lines[-1], extra={"banner": lines[:-1]})


async def log_startup_problems(settings: Settings, policy: Policy, okta: OktaClient, slack: AsyncWebClient) -> None:
    """Log what will not work; `okta` and `slack` are probed when they are the real services."""
    if settings.slack_configured and settings.okta_configured and settings.redis_embedded:
        log.warning(EMBEDDED_REDIS_WARNING)
    if hooks_deliver_alerts(settings, policy) and settings.okta_hook_secret is None:
        log.warning(
            "OKTA_HOOK_SECRET is not set: every event hook delivery will be refused and no Okta alert will "
            "arrive; set it, then run `okta-chatops hooks register`"
        )
    await asyncio.gather(
        *([_probe_okta(okta, settings)] if settings.okta_configured else []),
        *([_probe_slack(slack)] if settings.slack_configured else []),
    )


async def _probe_okta(okta: OktaClient, settings: Settings) -> None:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await okta.ping()
    except OktaError as exc:
        _failed("Okta", str(exc), okta_advice(exc, settings))
    except TimeoutError:
        _failed("Okta", f"no answer within {PROBE_TIMEOUT_S:g} s", None)


async def _probe_slack(slack: AsyncWebClient) -> None:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await slack.auth_test()
    except SlackApiError as exc:
        data = exc.response.data
        error = str(data.get("error")) if isinstance(data, dict) else f"HTTP {exc.response.status_code}"
        _failed("Slack", error, slack_advice(error))
    except TimeoutError:
        _failed("Slack", f"no answer within {PROBE_TIMEOUT_S:g} s", None)


def _failed(service: str, said: str, advice: Advice | None) -> None:
    fix = f"; {advice}" if advice is not None else ""
    log.error(
        "start-up check of %s failed: %s%s (commands fail until it is fixed)", service, said, fix,
        extra={"service": service.lower(), **({"setting": advice.setting} if advice is not None else {})},
    )
