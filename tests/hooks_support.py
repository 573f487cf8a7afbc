"""The bot's hook endpoint served on loopback, and a hook registered to it in the Okta simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from pydantic import SecretStr

from alerts.receiver import HookConfig, HookObserver, create_hook_app
from bot.hooks_cli import DEFAULT_NAME
from bot.server import BackgroundServer
from oktaclient import OktaClient
from oktaclient.models import EventHook

# The event types example.yaml's was_this_you section asks about, every signal on, as Okta allows them.
WAS_THIS_YOU_HOOKED = (
    "user.account.report_suspicious_activity_by_enduser", "user.mfa.factor.activate", "user.mfa.factor.deactivate",
    "user.mfa.factor.reset_all", "user.account.update_password", "user.account.reset_password", "user.session.start",
    "user.authentication.auth_via_mfa",
)  # fmt: skip


@asynccontextmanager
async def hook_endpoint(
    redis: aioredis.Redis, secret: str, previous: str = "", observe: HookObserver | None = None
) -> AsyncIterator[str]:
    """The endpoint as the bot serves it, with these secrets; yields its URL."""
    config = HookConfig(secret=SecretStr(secret), previous_secret=SecretStr(previous))
    async with BackgroundServer(create_hook_app(config, redis, observe)) as server:
        yield f"{server.url}/okta/hooks"


async def registered_hook(okta: OktaClient, url: str, secret: str, event_types: list[str]) -> EventHook:
    """A hook at `url`, verified by Okta's call to it, as `hooks register` leaves it."""
    hook = await okta.create_event_hook(DEFAULT_NAME, url, event_types, secret=secret)
    assert hook.id is not None
    return await okta.verify_event_hook(hook.id)
