"""Each Slack delivery is acted on once: retries, redeliveries and replays are acknowledged and dropped.

Slack retries an event it thinks was not acknowledged (`X-Slack-Retry-Num`), Socket Mode redelivers
an envelope, and anyone who captured a signed request can send it again for 5 minutes. Each
delivery is keyed by what Slack makes unique to it: the event_id of an event, the trigger_id of a
slash command or modal submission, action_ts + action_id + user of a click, the view of a closed
modal; a body without any of them is keyed by its digest. The first sighting of a key is
recorded in Redis (shared by every replica) for longer than a signature stays valid; any later one
is answered 200 with nothing done. The record holds a token of this sighting: when the client
resends the command because its reply was lost (a dropped connection, a failover), the resend finds
its own token and the delivery still runs, instead of being taken for its own duplicate.

If Redis does not answer, nothing is run: without the record a replay could not be told apart,
and every action needs Redis anyway (audit, approvals).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

SEEN_PREFIX = "okc:slack:seen:"  # + sha256 of the delivery key: set once, expires after SEEN_TTL_S
SEEN_TTL_S = 15 * 60  # Slack's signature window is 5 minutes; Events API retries come within minutes
REDIS_TIMEOUT_S = 1.0  # the ack must still go out within Slack's 3 s

# 1 for the first sighting (or a resend of that very call: the same token), 0 for a duplicate.
_SIGHT = """
local seen = redis.call('GET', KEYS[1])
if seen then return seen == ARGV[1] and 1 or 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""

UNAVAILABLE = ":warning: I cannot reach my database right now, so nothing was done. Please try again in a minute."


def delivery_key(body: dict[str, Any]) -> tuple[str, str]:
    """(kind, key) for a parsed Slack request body; kind is from a closed set, for logs."""
    if body.get("command") and isinstance(body.get("trigger_id"), str):
        return "command", f"command:{body['trigger_id']}"
    kind = body.get("type")
    if kind == "event_callback" and isinstance(body.get("event_id"), str):
        return "event", f"event:{body['event_id']}"
    if kind == "block_actions":
        actions = body.get("actions")
        user = body.get("user")
        if isinstance(actions, list) and actions and isinstance(actions[0], dict) and isinstance(user, dict):
            first = actions[0]
            return "click", f"click:{user.get('id')}:{first.get('action_id')}:{first.get('action_ts')}"
    if kind == "view_submission" and isinstance(body.get("trigger_id"), str):
        return "submission", f"submission:{body['trigger_id']}"
    if kind == "view_closed" and isinstance(body.get("view"), dict):
        return "closed", f"closed:{body['view'].get('id')}"
    return "other", "body:" + json.dumps(body, sort_keys=True, default=str)


class ReplayGuard:
    """A Bolt global middleware: `app.middleware(ReplayGuard(redis))`."""

    def __init__(self, redis: Redis) -> None:
        self._sight = redis.register_script(_SIGHT)

    async def __call__(self, body: dict[str, Any], response: BoltResponse, next: Callable[[], Awaitable[None]]) -> BoltResponse:
        kind, key = delivery_key(body)
        digest = hashlib.sha256(key.encode()).hexdigest()
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_S):
                first = await self._sight(keys=[SEEN_PREFIX + digest], args=[secrets.token_hex(8), SEEN_TTL_S])
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("Slack %s not run: Redis unavailable (%s)", kind, type(exc).__name__)
            return BoltResponse(status=200, body=UNAVAILABLE if kind == "command" else "")
        if not first:
            log.info("duplicate Slack %s ignored", kind)
            return BoltResponse(status=200, body="")
        await next()
        return response

