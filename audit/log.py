"""The audit trail: records appended to a Redis Stream.

Keys
- `okc:audit` (stream): one entry per record, fields as `AuditRecord.to_fields()`; capped near
  `maxlen` entries with approximate trimming (MAXLEN ~, cheap: whole stream nodes are dropped).
- `okc:audit:approval:{approval_id}` (list): the entry ids of one approval's records, in order;
  expires `index_ttl` seconds after its last append.

Appends go through Lua (`append.lua`) so that the stream entry and the index update are one step;
other packages' scripts prepend `LUA_LIBRARY` and call `audit_append` with `lua_config()`, so an
approval transition and its audit entries are atomic and share this one implementation.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from importlib.resources import files
from typing import Any, cast

import redis.asyncio as aioredis

from audit.record import AuditEntry, AuditRecord

LUA_LIBRARY = (files("audit") / "append.lua").read_text()
_APPEND = LUA_LIBRARY + "\nlocal p = cjson.decode(ARGV[1])\nreturn audit_append(p.audit, p.record, {})\n"


class AuditLog:
    def __init__(
        self,
        redis: aioredis.Redis,
        stream: str = "okc:audit",
        maxlen: int = 1_000_000,
        index_ttl: int = 90 * 86400,
    ) -> None:
        self._redis = redis
        self.stream = stream
        self.maxlen = maxlen
        self.index_ttl = index_ttl
        self._append = redis.register_script(_APPEND)

    def lua_config(self) -> dict[str, Any]:
        """What a script needs to call `audit_append` (pass it as JSON; see append.lua)."""
        return {
            "stream": self.stream,
            "maxlen": self.maxlen,
            "index_prefix": self._index_key(""),
            "index_ttl": self.index_ttl,
        }

    def _index_key(self, approval_id: str) -> str:
        return f"{self.stream}:approval:{approval_id}"

    async def append(self, record: AuditRecord) -> str:
        """Append one record; returns its stream entry id."""
        payload = json.dumps({"audit": self.lua_config(), "record": record.to_fields()})
        return str(await self._append(args=[payload]))

    async def recent(
        self, count: int = 50, *, target: str | Collection[str] | None = None, scan: int = 10_000
    ) -> list[AuditEntry]:
        """The last `count` records, newest first; with `target`, only those about it: a login or an
        Okta id as recorded, or several names of one user (login and id), compared ignoring case.
        Looks through the newest `scan` entries at most (a bounded read: the history of a user, for
        `/okta history` and reviews)."""
        if target is None:
            return _entries(await self._redis.xrevrange(self.stream, count=count))
        names = {target.casefold()} if isinstance(target, str) else {name.casefold() for name in target}
        found: list[AuditEntry] = []
        end, seen, page = "+", 0, 500
        while len(found) < count and seen < scan:
            batch = _entries(await self._redis.xrevrange(self.stream, max=end, count=min(page, scan - seen)))
            found += [entry for entry in batch if (entry.record.target or "").casefold() in names]
            seen += len(batch)
            if len(batch) < page:
                break
            end = f"({batch[-1].id}"
        return found[:count]

    async def since(self, after: datetime | str, count: int = 1000) -> list[AuditEntry]:
        """Records oldest first: from a time (inclusive; by entry id, i.e. server append time), or
        strictly after an entry id (a cursor: pass the last id you saw to read on)."""
        start = f"{int(after.timestamp() * 1000)}-0" if isinstance(after, datetime) else f"({after}"
        return _entries(await self._redis.xrange(self.stream, min=start, count=count))

    async def for_approval(self, approval_id: str) -> list[AuditEntry]:
        """Every record of one approval, oldest first (entries trimmed from the stream are skipped)."""
        ids = await self._redis.lrange(self._index_key(approval_id), 0, -1)
        pipe = self._redis.pipeline(transaction=False)
        for entry_id in ids:
            pipe.xrange(self.stream, min=entry_id, max=entry_id)
        return _entries([hit for found in await pipe.execute() for hit in found])


def _entries(raw: object) -> list[AuditEntry]:
    # redis-py types replies loosely (bytes | str | None); with decode_responses=True they are str
    entries = cast(list[tuple[str, dict[str, str]]], raw)
    return [AuditEntry(id=entry_id, record=AuditRecord.from_fields(fields)) for entry_id, fields in entries]
