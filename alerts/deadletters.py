"""Dead letters: alert events Slack refused for good, parked so that the rest keep flowing.

An alert Slack refuses with an error no retry will change (its blocks, its length, its channel; see
alerts/publisher.py) is tried once more as plain text; refused again, its worker parks the event here
and acknowledges it, in one step. Once the cause is fixed (the bot invited to the channel, the policy
corrected), an operator replays it: `okta-chatops alerts dead-letters [--retry ID]`. A replayed event
goes back into the alert stream and through routing again; the ledger keeps it from being posted
twice, however often it is replayed.

Redis keys owned here:
- `okc:alerts:dead` (Stream, capped with `MAXLEN ~` DEFAULT_MAXLEN): one entry per parked event, its
  id the time it was parked: `uuid`, `event` (its JSON as Okta sent it), `channel` (as routed),
  `error` (Slack's code for the message), `plain_error` (for its plain-text retry), `digest` (the
  digest it was counted in, whose message Slack refused; else empty).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import cast

import redis.asyncio as aioredis
from pydantic import BaseModel, ValidationError
from redis.typing import EncodableT, FieldT

from alerts.digest import Digests
from alerts.format import AlertKind, classify
from alerts.ledger import Ledger
from alerts.stages import Stage, Tally
from alerts.stages import count as count_stage
from alerts.stream import DEFAULT_MAXLEN as STREAM_MAXLEN
from alerts.stream import STREAM_KEY
from oktaclient.models import LogEvent

DEAD_KEY = "okc:alerts:dead"
DEFAULT_MAXLEN = 10_000  # far beyond what an operator reads through; the oldest go first
ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")


class Reason(StrEnum):
    """Why Slack refused a message, as a closed set (a metrics label): Slack's code, or `other`."""

    INVALID_BLOCKS = "invalid_blocks"
    MSG_TOO_LONG = "msg_too_long"
    NO_TEXT = "no_text"
    INVALID_METADATA = "invalid_metadata_format"
    CHANNEL_NOT_FOUND = "channel_not_found"
    NOT_IN_CHANNEL = "not_in_channel"
    IS_ARCHIVED = "is_archived"
    RESTRICTED_ACTION = "restricted_action"
    MESSAGE_NOT_FOUND = "message_not_found"  # a digest's message, deleted in Slack
    CANT_UPDATE_MESSAGE = "cant_update_message"
    EDIT_WINDOW_CLOSED = "edit_window_closed"
    OTHER = "other"

    @classmethod
    def of(cls, error: str) -> Reason:
        try:
            return cls(error)
        except ValueError:
            return cls.OTHER


# Dead letters by reason, for metrics: bot.metrics subscribes (`REASONS.observe(...)`).
REASONS: Tally[Reason] = Tally()


@dataclass(frozen=True)
class Parcel:
    """A stream entry to park: its id in the alert stream, and its event as received."""

    entry_id: str
    uuid: str
    event_json: str


class DeadLetter(BaseModel):
    """A parked event, as read back (fields someone else wrote may be missing: they read as empty)."""

    id: str
    uuid: str = ""
    event: str = ""
    channel: str = ""
    error: str = ""
    plain_error: str = ""
    digest: str = ""

    @property
    def at(self) -> datetime:
        """When it was parked (the stream entry's id is the Redis server's time in ms)."""
        return datetime.fromtimestamp(int(self.id.split("-")[0]) / 1000, tz=UTC)

    def log_event(self) -> LogEvent | None:
        try:
            return LogEvent.model_validate_json(self.event)
        except ValidationError:
            return None


# Replays a dead letter: back into the alert stream and out of the dead-letter stream, or nothing if
# it is gone (replayed already). KEYS: dead letters, alert stream, the event's ledger record, the
# digest's hash. An event counted in a digest that has since
# been replaced (or has expired) can no longer be shown there: its ledger record is dropped, so it is
# handled like a new event.
_REPLAY = """
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'uuid', ARGV[3], 'event', ARGV[4])
if ARGV[5] ~= '' and redis.call('HGET', KEYS[3], 'state') == 'digested'
    and redis.call('HGET', KEYS[3], 'digest') == ARGV[5] and redis.call('HGET', KEYS[4], 'id') ~= ARGV[5] then
  redis.call('DEL', KEYS[3])
end
return 1
"""


class DeadLetters:
    def __init__(
        self, redis: aioredis.Redis, *, key: str = DEAD_KEY, stream: str = STREAM_KEY, maxlen: int = DEFAULT_MAXLEN
    ) -> None:
        self._redis = redis
        self.key = key
        self._stream = stream
        self._maxlen = maxlen
        self._replay = redis.register_script(_REPLAY)

    async def park(
        self, group: str, parcels: Sequence[Parcel], *, channel: str, error: str, plain_error: str, digest: str = ""
    ) -> None:
        """Parks the events and acknowledges their entries in `group`, atomically: a crash leaves them
        pending (parked again later), never acknowledged and not parked."""
        if not parcels:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for parcel in parcels:
                fields: dict[FieldT, EncodableT] = {
                    "uuid": parcel.uuid,
                    "event": parcel.event_json,
                    "channel": channel,
                    "error": error,
                    "plain_error": plain_error,
                    "digest": digest,
                }
                pipe.xadd(self.key, fields, maxlen=self._maxlen, approximate=True)
            pipe.xack(self._stream, group, *(parcel.entry_id for parcel in parcels))
            await pipe.execute()
        count_stage(Stage.DEAD_LETTERED, len(parcels))
        REASONS.count(Reason.of(error), len(parcels))

    async def newest(self, limit: int) -> list[DeadLetter]:
        """Up to `limit` dead letters, newest first."""
        raw = cast(list[tuple[str, dict[str, str]]], await self._redis.xrevrange(self.key, count=limit))
        return [DeadLetter.model_validate({**fields, "id": entry_id}) for entry_id, fields in raw]

    async def get(self, entry_id: str) -> DeadLetter | None:
        raw = cast(list[tuple[str, dict[str, str]]], await self._redis.xrange(self.key, entry_id, entry_id, count=1))
        return DeadLetter.model_validate({**raw[0][1], "id": raw[0][0]}) if raw else None

    async def size(self) -> int:
        return int(await self._redis.xlen(self.key))

    async def replay(self, letter: DeadLetter) -> bool:
        """Puts the event back into the alert stream and removes the dead letter, atomically; False if
        it was no longer there (replayed meanwhile)."""
        event = letter.log_event()
        kind = AlertKind.OTHER if event is None else classify(event)
        keys = [self.key, self._stream, Ledger.key(letter.uuid), Digests.key(letter.channel, kind)]
        args: list[str | int] = [letter.id, STREAM_MAXLEN, letter.uuid, letter.event, letter.digest]
        return bool(await self._replay(keys=keys, args=args))
