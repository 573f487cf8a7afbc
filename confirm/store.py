"""The questions in Redis: each one's state machine, moved only by Lua scripts, so that one answer,
one containment and one escalation happen per question across replicas and restarts.

Redis keys owned here (TTL `ttl_s`, 30 days, unless said otherwise):
- `okc:confirm:q:<id>` (Hash): `state`, `fence` (incremented by each claim of the question's work),
  `signal`, `okta_id`, `login`, `created` (our clock, s), `event_at` (the first event's time, s),
  `slack_id`, `dm_channel`, `dm_ts`, `deadline`, `answer`, `answered_by`, `answered_at`,
  `reason` (why escalated), `done:<step>` (a containment step's result), `incident_channel`,
  `incident_ts`, `act:<action>` (who ran a follow-up), `resolved_by`, `protected` ("1": the account is
  one the policy protects, so nothing is changed from Slack), `dm_claim` (the fence under which the
  question's DM is being sent: set before the post, so that a worker taking over after a crash knows
  a DM may be out and sends none), `start:<step>` (the fence that began a containment step: one
  interrupted inside its Okta call is settled from Okta's state, not simply run again).
- `okc:confirm:q:<id>:events` (List): the incident's events as JSON, the latest `TIMELINE` kept.
- `okc:confirm:user:<okta id>` (String, TTL the incident window): the user's open incident.
- `okc:confirm:event:<uuid>` (String): the question an event went to (a redelivery changes nothing).
- `okc:confirm:due` (Sorted Set): question id by when something must happen to it: an ASKING
  question's deadline, or when the lease of a question's work runs out (its worker presumed dead).

States: NEW (to be asked) -> ASKING -> CONFIRMING | CONTAINING | ESCALATING (work under a lease)
-> CONFIRMED | CONTAINED | ESCALATED -> RESOLVED. A "reported" event opens a question in CONTAINING.
Work is done by whoever moved the question into a work state (with the `fence` it got); if that
process dies, the sweeper takes the question when its lease runs out, with a new fence, and the old
worker's writes are refused from then on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import cast

import redis.asyncio as aioredis

PREFIX = "okc:confirm:"
DUE_KEY = PREFIX + "due"
TIMELINE = 20
DEFAULT_TTL_S = 30 * 86400


class State(StrEnum):
    NEW = "new"
    ASKING = "asking"
    CONFIRMING = "confirming"
    CONTAINING = "containing"
    ESCALATING = "escalating"
    CONFIRMED = "confirmed"
    CONTAINED = "contained"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


WORK_STATES = frozenset({State.NEW, State.CONFIRMING, State.CONTAINING, State.ESCALATING})

_WORK_LUA = "{new=true, confirming=true, containing=true, escalating=true}"

_OPEN = """
local seen = redis.call('GET', KEYS[2])
if seen then return {'duplicate', seen} end
local ttl = tonumber(ARGV[7])
local current = redis.call('GET', KEYS[1])
if current and redis.call('EXISTS', ARGV[2] .. current) == 1 then
  local q = ARGV[2] .. current
  redis.call('RPUSH', q .. ':events', ARGV[3])
  redis.call('LTRIM', q .. ':events', -tonumber(ARGV[8]), -1)
  redis.call('SET', KEYS[2], current, 'EX', ttl)
  local state = redis.call('HGET', q, 'state')
  if ARGV[9] == 'reported' and state == 'asking' then
    local fence = redis.call('HINCRBY', q, 'fence', 1)
    redis.call('HSET', q, 'state', 'containing', 'answer', 'reported', 'answered_at', ARGV[4])
    redis.call('ZADD', KEYS[3], tonumber(ARGV[4]) + tonumber(ARGV[6]), current)
    return {'work', current, 'containing', fence}
  end
  return {'joined', current, state}
end
local q = ARGV[2] .. ARGV[1]
local state = ARGV[9] == 'reported' and 'containing' or 'new'
redis.call('HSET', q, 'state', state, 'fence', 1, 'created', ARGV[4], 'signal', ARGV[9], 'okta_id', ARGV[10],
  'login', ARGV[11], 'event_at', ARGV[12])
if state == 'containing' then redis.call('HSET', q, 'answer', 'reported', 'answered_at', ARGV[4]) end
redis.call('RPUSH', q .. ':events', ARGV[3])
redis.call('EXPIRE', q, ttl)
redis.call('EXPIRE', q .. ':events', ttl)
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ttl)
redis.call('ZADD', KEYS[3], tonumber(ARGV[4]) + tonumber(ARGV[6]), ARGV[1])
return {'work', ARGV[1], state, 1}
"""

# The sweeper's claim: questions whose time has come. An ASKING one past its deadline escalates;
# a work state whose lease ran out is taken over with a new fence; anything else leaves the set.
_TAKE_DUE = (
    "local work = "
    + _WORK_LUA
    + """
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))) do
  local q = ARGV[4] .. id
  local state = redis.call('HGET', q, 'state')
  if state == 'asking' then
    state = 'escalating'
    redis.call('HSET', q, 'state', state, 'answer', 'timeout', 'reason', 'timeout', 'answered_at', ARGV[1])
  end
  if state and work[state] then
    local fence = redis.call('HINCRBY', q, 'fence', 1)
    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
    table.insert(out, {id, state, fence})
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""
)

_ANSWER = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'gone'} end
if redis.call('HGET', KEYS[1], 'slack_id') ~= ARGV[1] then return {'foreign'} end
-- Open once asked, and already while its DM is being sent (claimed): a click can beat the record.
local claimed = state == 'new' and (redis.call('HGET', KEYS[1], 'dm_claim') or '') ~= ''
if state ~= 'asking' and not claimed then return {'closed', state} end
local next = ARGV[2] == 'yes' and 'confirming' or 'containing'
local fence = redis.call('HINCRBY', KEYS[1], 'fence', 1)
redis.call('HSET', KEYS[1], 'state', next, 'answer', ARGV[2], 'answered_by', ARGV[1], 'answered_at', ARGV[3])
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[5])
return {'ok', next, fence}
"""

# Work under a fence: ARGV[1] fence, ARGV[2] the state it must be in, ARGV[3] the state to enter
# ('' stays), ARGV[4] the due score ('' leaves the set, '-' leaves it as it is), then field/value pairs.
_ADVANCE = """
if redis.call('HGET', KEYS[1], 'fence') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= ARGV[2] then
  return 0
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'state', ARGV[3]) end
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], ARGV[5])
elseif ARGV[4] ~= '-' then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[5])
end
return 1
"""

# A follow-up by the security role: each action once per question; resolving closes it.
_FOLLOW_UP = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'contained' and state ~= 'escalated' and state ~= 'confirmed' then return {'closed', state or ''} end
if ARGV[1] == 'resolve' then
  redis.call('HSET', KEYS[1], 'state', 'resolved', 'resolved_by', ARGV[2])
  return {'ok'}
end
if redis.call('HSETNX', KEYS[1], 'act:' .. ARGV[1], ARGV[2]) == 0 then
  return {'done', redis.call('HGET', KEYS[1], 'act:' .. ARGV[1])}
end
return {'ok'}
"""

# Fields on a question that still exists (one gone stays gone: no hash without its TTL).
_MARK = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return 0
"""


@dataclass(frozen=True)
class Opened:
    """What an event did: `work` (the caller does the question's work now, with `fence`),
    `joined` (added to an open incident) or `duplicate` (seen before)."""

    outcome: str
    question_id: str
    state: State | None = None
    fence: int = 0


@dataclass(frozen=True)
class Claimed:
    question_id: str
    state: State
    fence: int


@dataclass(frozen=True)
class Answered:
    """`ok` (the caller does the work of `state` with `fence`), `foreign`, `closed` or `gone`."""

    outcome: str
    state: State | None = None
    fence: int = 0


@dataclass(frozen=True)
class NewEvent:
    question_id: str  # the id a new question gets
    uuid: str
    json: str
    signal: str
    okta_id: str
    login: str
    event_at: float


class QuestionStore:
    def __init__(self, redis: aioredis.Redis, *, lease_s: float = 60.0, ttl_s: int = DEFAULT_TTL_S) -> None:
        self._redis = redis
        self.lease_s = lease_s
        self.ttl_s = ttl_s
        self._open = redis.register_script(_OPEN)
        self._take_due = redis.register_script(_TAKE_DUE)
        self._answer = redis.register_script(_ANSWER)
        self._advance = redis.register_script(_ADVANCE)
        self._follow_up = redis.register_script(_FOLLOW_UP)
        self._mark = redis.register_script(_MARK)

    @staticmethod
    def key(question_id: str) -> str:
        return f"{PREFIX}q:{question_id}"

    async def open(self, new: NewEvent, *, now: float, window_s: int) -> Opened:
        keys = [f"{PREFIX}user:{new.okta_id}", f"{PREFIX}event:{new.uuid}", DUE_KEY]
        args: list[str | float | int] = [
            new.question_id, f"{PREFIX}q:", new.json, now, window_s, self.lease_s, self.ttl_s, TIMELINE,
            new.signal, new.okta_id, new.login, new.event_at,
        ]  # fmt: skip
        reply = cast(list[str | int], await self._open(keys=keys, args=args))
        outcome, question_id = str(reply[0]), str(reply[1])
        if outcome == "work":
            return Opened(outcome, question_id, State(str(reply[2])), int(reply[3]))
        if outcome == "joined":
            return Opened(outcome, question_id, State(str(reply[2])))
        return Opened(outcome, question_id)

    async def take_due(self, now: float, limit: int = 100) -> list[Claimed]:
        reply = await self._take_due(keys=[DUE_KEY], args=[now, self.lease_s, limit, f"{PREFIX}q:"])
        return [Claimed(str(qid), State(str(state)), int(fence)) for qid, state, fence in cast(list[list[str]], reply)]

    async def answer(self, question_id: str, slack_id: str, answer: str, *, now: float) -> Answered:
        args: list[str | float] = [slack_id, answer, now, self.lease_s, question_id]
        reply = cast(list[str | int], await self._answer(keys=[self.key(question_id), DUE_KEY], args=args))
        if reply[0] == "ok":
            return Answered("ok", State(str(reply[1])), int(reply[2]))
        return Answered(str(reply[0]), State(str(reply[1])) if len(reply) > 1 and reply[1] else None)

    async def advance(
        self,
        question_id: str,
        fence: int,
        state: State,
        *,
        to: State | None = None,
        due: float | None = None,
        keep_due: bool = False,
        extra: dict[str, str] | None = None,
        **fields: str | float,
    ) -> bool:
        """Writes `fields` (and enters `to`) if the question is still in `state` under `fence`; `due`
        sets when the sweeper takes it next (None: never, unless `keep_due`)."""
        score = "-" if keep_due else ("" if due is None else due)
        args: list[str | float | int] = [fence, state.value, to.value if to else "", score, question_id]
        for name, value in {**fields, **(extra or {})}.items():
            args += [name, value]
        return bool(await self._advance(keys=[self.key(question_id), DUE_KEY], args=args))

    async def follow_up(self, question_id: str, action: str, slack_id: str) -> tuple[str, str]:
        """('ok', ''), ('done', who did it already) or ('closed', state)."""
        reply = cast(list[str], await self._follow_up(keys=[self.key(question_id)], args=[action, slack_id]))
        return reply[0], reply[1] if len(reply) > 1 else ""

    async def note(self, question_id: str, **facts: str) -> None:
        """Facts learnt from Okta or Slack (the account is protected, where the DM went): kept whoever
        learns them, under any fence."""
        args = [item for pair in facts.items() for item in pair]
        await self._mark(keys=[self.key(question_id)], args=args)

    async def get(self, question_id: str) -> Question | None:
        fields = cast(dict[str, str], await self._redis.hgetall(self.key(question_id)))
        return Question.of(question_id, fields) if fields.get("state") else None

    async def events(self, question_id: str) -> list[str]:
        return cast(list[str], await self._redis.lrange(self.key(question_id) + ":events", 0, -1))

    async def pending(self) -> int:
        """How many questions wait for a deadline or a lease (for tests and the CLI)."""
        return int(await self._redis.zcard(DUE_KEY))


@dataclass(frozen=True)
class Question:
    """A question as read back from its hash."""

    id: str
    state: State
    signal: str
    okta_id: str
    login: str
    slack_id: str
    answer: str
    answered_by: str
    reason: str
    created: float
    event_at: float
    dm: tuple[str, str] | None  # (channel, ts) of the DM that asked
    incident: tuple[str, str] | None  # (channel, ts) of the security channel's message
    steps: dict[str, str]  # containment step -> its result
    follow_ups: dict[str, str]  # follow-up action -> who ran it
    resolved_by: str
    protected: bool  # the policy protects the account: nothing is changed from Slack
    dm_claim: str  # the fence under which the DM is being (or was) sent; "" before
    started: dict[str, str]  # containment step -> the fence that began it

    @classmethod
    def of(cls, question_id: str, fields: dict[str, str]) -> Question:
        def pair(a: str, b: str) -> tuple[str, str] | None:
            return (fields[a], fields[b]) if fields.get(a) and fields.get(b) else None

        return cls(
            id=question_id,
            state=State(fields["state"]),
            signal=fields.get("signal", ""),
            okta_id=fields.get("okta_id", ""),
            login=fields.get("login", ""),
            slack_id=fields.get("slack_id", ""),
            answer=fields.get("answer", ""),
            answered_by=fields.get("answered_by", ""),
            reason=fields.get("reason", ""),
            created=float(fields.get("created") or 0),
            event_at=float(fields.get("event_at") or 0),
            dm=pair("dm_channel", "dm_ts"),
            incident=pair("incident_channel", "incident_ts"),
            steps={k.removeprefix("done:"): v for k, v in fields.items() if k.startswith("done:")},
            follow_ups={k.removeprefix("act:"): v for k, v in fields.items() if k.startswith("act:")},
            resolved_by=fields.get("resolved_by", ""),
            protected=fields.get("protected") == "1",
            dm_claim=fields.get("dm_claim", ""),
            started={k.removeprefix("start:"): v for k, v in fields.items() if k.startswith("start:")},
        )
