"""Consumers of the alert stream's group that are gone for good, removed from it.

Workers are consumers named after their host and port (alerts/service.py), so every rollout that
brings new host names leaves the old names in the group, for ever unless someone removes them. What
a dead consumer had pending is taken over like any entry idle past the takeover time (the workers'
XAUTOCLAIM scans, alerts/worker.py); once a consumer has nothing pending and has been idle for
`idle_ms`, a worker that has just finished such a scan removes it (XGROUP DELCONSUMER).

The check and the removal are one script, so a consumer that took entries meanwhile is never removed
with them (which would lose them: removing a consumer drops its pending entries). A live worker reads
every few seconds and is never idle that long; were an empty one removed anyway, its next read would
recreate it, at no cost. A worker never removes itself.
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis

# KEYS[1] the stream; ARGV: group, the caller's own consumer name, idle_ms. Returns the names removed.
# XINFO CONSUMERS answers each consumer as a flat list: name, <name>, pending, <n>, idle, <ms>, ...
_FORGET = """
local removed = {}
for _, flat in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #flat, 2 do
    info[flat[i]] = flat[i + 1]
  end
  if info['name'] ~= ARGV[2] and info['pending'] == 0 and info['idle'] >= tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    table.insert(removed, info['name'])
  end
end
return removed
"""


class IdleConsumers:
    def __init__(self, redis: aioredis.Redis, stream: str, group: str, *, idle_ms: int) -> None:
        self._stream = stream
        self._group = group
        self.idle_ms = idle_ms
        self._forget = redis.register_script(_FORGET)

    async def forget(self, keep: str) -> list[str]:
        """Removes the group's consumers (but `keep`) idle for `idle_ms` with nothing pending; their names."""
        removed = await self._forget(keys=[self._stream], args=[self._group, keep, self.idle_ms])
        return cast(list[str], removed)
