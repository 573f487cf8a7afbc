"""Lua scripts that take effect once per call, however many times the call reaches Redis.

The client resends a command whose reply it did not get (a dropped connection, a restarted or
failed-over server: bot/redis_client.py's Retry). For a script that already ran, resending is not
harmless: `ApprovalStore.approve` would answer "already approved by you" to the very call that
claimed the execution, so nobody would execute it; an audit or stream append would be written
twice. So every script registered through `OnceRedis` is wrapped: each call names itself with a
fresh key, and the script stores its answer under that key in the same atomic step as its writes.
A resent call finds the answer and returns it without running again. The answer and the writes
replicate and persist together, so after a failover either both are on the new primary (the resend
gets the first answer) or neither is (the resend runs for the first time).

Redis keys owned here:
- `okc:once:<32 hex>` (String, TTL `ONCE_TTL_MS`): one call's answer, JSON-encoded by cjson. The TTL
  only has to outlast the client's retries of that call (bot/redis_client.py: at most 28 s).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.typing import EncodableT, KeyT, ScriptTextT

ONCE_PREFIX = "okc:once:"
ONCE_TTL_MS = 120_000

# The call's key is the last of KEYS, removed before the script proper runs, which sees the KEYS it
# was given. cjson keeps what a script returns (strings, integers, arrays, nil as false); a script
# that raises stores nothing, and its resend runs again, as it would have without this.
_PROLOGUE = """local __once = table.remove(KEYS)
local __seen = redis.call('GET', __once)
if __seen then return cjson.decode(__seen) end
local __answer = (function()
"""
_EPILOGUE = f"""
end)()
redis.call('SET', __once, cjson.encode(__answer == nil and false or __answer), 'PX', {ONCE_TTL_MS})
return __answer
"""


def once_source(script: str) -> str:
    """`script` wrapped to store its answer under the call's key (the last of KEYS)."""
    return _PROLOGUE + script + _EPILOGUE


class OnceScript(AsyncScript):
    async def __call__(
        self,
        keys: Sequence[KeyT] | None = None,
        args: Iterable[EncodableT] | None = None,
        client: aioredis.Redis | RedisCluster | None = None,
    ) -> Any:
        # The key is made here, once per call: redis-py's retries resend the same EVALSHA, key included.
        call = ONCE_PREFIX + secrets.token_hex(16)
        return await super().__call__([*(keys or ()), call], args, client)


class OnceRedis(aioredis.Redis):
    """A Redis client whose `register_script` gives scripts that take effect once per call."""

    def register_script(self, script: ScriptTextT) -> AsyncScript:  # type: ignore[override]  # as redis-py's own
        source = script if isinstance(script, str) else bytes(script).decode()
        return OnceScript(self, once_source(source))
