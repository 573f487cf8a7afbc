"""`okta-chatops alerts dead-letters`: the alerts Slack refused for good, and replaying them.

    okta-chatops alerts dead-letters [--limit N]    # the newest N (default 20), newest first
    okta-chatops alerts dead-letters --retry ID     # one of them, back into the alert stream

A dead letter is an Okta event whose message Slack refused, as Block Kit and as plain text, with an
error that no retry changes: the bot is not in the channel, the channel is gone or archived, ...
(alerts/deadletters.py). Fix the cause, then replay it: it is routed by the policy as it is now, and
posted once however often it is replayed. The command reads the bot's Redis: REDIS_URL, or without
it the embedded Redis of the bot running with the same DATA_DIR.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from alerts.deadletters import ENTRY_ID, DeadLetter, DeadLetters
from bot.settings import Settings, load_settings

MAX_LIMIT = 1000
SHOWN = 60  # characters of a field that came from Okta or Redis, in a listing
ROW = "{:<16} {:<19} {:<20} {:<20} {}"


class _Refused(Exception):
    """The command cannot go ahead as asked; the message says why (exit code 2)."""


def register(sub: Any) -> None:
    alerts = sub.add_parser("alerts", help="the alert pipeline: alerts Slack refused for good (dead letters)")
    actions = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")
    dead = actions.add_parser(
        "dead-letters", help="list the alerts Slack refused for good, newest first, or replay one with --retry ID"
    )
    dead.add_argument("--limit", type=_limit, default=20, help=f"how many to list, 1 to {MAX_LIMIT} (default 20)")
    dead.add_argument("--retry", metavar="ID", help="put this dead letter's event back into the alert stream")
    alerts.set_defaults(run=run)


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        if args.retry is not None and not ENTRY_ID.fullmatch(args.retry):
            raise _Refused(f"--retry takes a dead letter's ID as listed, e.g. 1741000000000-0 (got {args.retry!r})")
        async with _redis(settings) as (redis, where):
            try:
                dead = DeadLetters(redis)
                return await (_retry(dead, args.retry) if args.retry else _list(dead, args.limit))
            except (RedisError, OSError) as exc:
                print(f"okta-chatops alerts: {where} did not answer ({type(exc).__name__}: {exc})", file=sys.stderr)
                return 1
    except _Refused as exc:
        print(f"okta-chatops alerts: {exc}", file=sys.stderr)
        return 2


@asynccontextmanager
async def _redis(settings: Settings) -> AsyncIterator[tuple[aioredis.Redis, str]]:
    """The bot's Redis, and how to name it in a message (never its URL: that may hold a password)."""
    url, where = settings.redis_url, "REDIS_URL"
    if url is None:
        socket = (settings.data_dir / "redis" / "redis.sock").resolve()  # where bot/runtime.py starts it
        if not socket.exists():
            raise _Refused(
                f"REDIS_URL is not set and no bot is running on DATA_DIR={settings.data_dir} (no {socket}): "
                "the dead letters are in the bot's Redis; set REDIS_URL, or run this beside the bot"
            )
        url, where = f"unix://{socket}?db=0", f"the embedded Redis at {socket}"
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        yield client, where
    finally:
        await client.aclose()


async def _list(dead: DeadLetters, limit: int) -> int:
    letters, total = await dead.newest(limit), await dead.size()
    if not letters:
        print("No dead letters: Slack has refused no alert for good (or each has been replayed).")
        return 0
    print(f"{total} dead letter{'s' if total != 1 else ''}; the newest {len(letters)}:")
    print(ROW.format("ID", "PARKED (UTC)", "CHANNEL", "REFUSED", "EVENT"))
    for letter in letters:
        refused = letter.error + ("" if letter.plain_error in ("", letter.error) else f"/{letter.plain_error}")
        parked = f"{letter.at:%Y-%m-%d %H:%M:%S}"
        print(ROW.format(letter.id, parked, _shown(letter.channel), _shown(refused), _what(letter)))
    print("Once the cause is fixed (e.g. the bot invited to the channel): okta-chatops alerts dead-letters --retry ID")
    return 0


async def _retry(dead: DeadLetters, entry_id: str) -> int:
    letter = await dead.get(entry_id)
    if letter is None or not await dead.replay(letter):
        print(f"okta-chatops alerts: no dead letter {entry_id} (replayed already?)", file=sys.stderr)
        return 1
    print(f"Re-queued {entry_id} ({_what(letter)}): it is posted where the policy routes it now.")
    return 0


def _what(letter: DeadLetter) -> str:
    event = letter.log_event()
    kind = "an unreadable event" if event is None else _shown(event.eventType)
    digest = f", counted in digest {_shown(letter.digest)}" if letter.digest else ""
    return f"{kind} {_shown(letter.uuid)}{digest}"


def _shown(value: str) -> str:
    """Text from Okta or Redis, safe to print on a terminal: no control characters, cut to SHOWN."""
    clean = "".join(c if c.isprintable() else "?" for c in value)
    return clean if len(clean) <= SHOWN else clean[: SHOWN - 1] + "…"
