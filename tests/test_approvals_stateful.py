"""Random sequences of operations against a real Redis, checked step by step against a model:
at most one execute per request, terminal states are final, an execution lease is held by one token
at a time (its owner's until it runs out unrenewed, then a sweeper's claim), and every answer is the
predicted one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

import redis.asyncio as aioredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from approvals import ApprovalRequest, ApprovalState, ApprovalStore, Refusal, TransitionResult
from tests.conftest import examples

S = ApprovalState
USERS = st.sampled_from(["U1", "U2", "U3", "U4"])
WHO = st.sampled_from(["current", "previous", "stranger"])
T = TypeVar("T")


@dataclass
class Model:
    id: str
    requester: str
    needed: int
    deadline: float
    state: ApprovalState = S.PENDING
    approvers: set[str] = field(default_factory=set)
    token: str | None = None  # the execution lease's current holder
    previous: str | None = None  # the holder it was taken from
    lease_until: float = 0.0

    def holder(self, who: str) -> str:
        """The token a caller presents: the current holder's, the one it was taken from, or a stranger's."""
        return {"current": self.token, "previous": self.previous}.get(who) or "not-the-token"


class ApprovalMachine(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self, redis_url: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        self.run(self.client.flushdb())
        self.store = ApprovalStore(self.client)
        self.now = 1_700_000_000.0
        self.models: dict[str, Model] = {}
        self.terminal: dict[str, ApprovalState] = {}  # first terminal state seen: must never change

    def run(self, step: Awaitable[T]) -> T:
        return self.loop.run_until_complete(step)

    def teardown(self) -> None:
        self.run(self.client.aclose())
        self.loop.close()

    def pending_refusal(self, m: Model) -> Refusal | None:
        """What the store must answer approve/deny/cancel before looking at who asks."""
        if m.state is not S.PENDING:
            return Refusal.NOT_PENDING
        if self.now >= m.deadline:
            m.state = S.EXPIRED
            return Refusal.EXPIRED
        return None

    def check(self, m: Model, res: TransitionResult, refusal: Refusal | None) -> None:
        assert res.refusal is refusal
        assert res.state is m.state and set(res.approvals) == m.approvers
        if m.state.terminal:
            self.terminal.setdefault(m.id, m.state)

    async def load_all(self) -> list[ApprovalRequest | None]:
        return await asyncio.gather(*(self.store.get(approval_id) for approval_id in self.models))

    @rule(target=requests, requester=USERS, needed=st.integers(1, 3), ttl=st.integers(30, 600))
    def create(self, requester: str, needed: int, ttl: int) -> Model:
        req = self.run(self.store.create(
            requester=requester, verb="suspend", required_approvals=needed, expires_in=ttl, now=self.now
        ))
        self.models[req.id] = m = Model(req.id, requester, needed, self.now + ttl)
        return m

    @rule(seconds=st.integers(1, 120))
    def tick(self, seconds: int) -> None:
        self.now += seconds

    @rule(m=requests, users=st.lists(USERS, min_size=1, max_size=3))
    def approve(self, m: Model, users: list[str]) -> None:
        # several clicks per step, so that requests reach EXECUTING as often as they get closed
        for user in users:
            self.approve_once(m, user)

    def approve_once(self, m: Model, user: str) -> None:
        res = self.run(self.store.approve(m.id, user, now=self.now))
        refusal = self.pending_refusal(m)
        if refusal is None and user == m.requester:
            refusal = Refusal.SELF_APPROVAL
        elif refusal is None and user in m.approvers:
            refusal = Refusal.ALREADY_APPROVED_BY_YOU
        elif refusal is None:
            m.approvers.add(user)
            if len(m.approvers) >= m.needed:
                assert m.token is None, "a second execute"
                m.state, m.token, m.lease_until = S.EXECUTING, res.executor, self.now + self.store.lease
        assert res.execute == (res.executor is not None) == (refusal is None and m.state is S.EXECUTING)
        self.check(m, res, refusal)

    @rule(m=requests, user=USERS)
    def deny(self, m: Model, user: str) -> None:
        res = self.run(self.store.deny(m.id, user, "no", now=self.now))
        refusal = self.pending_refusal(m)
        if refusal is None:
            m.state = S.DENIED
        self.check(m, res, refusal)

    @rule(m=requests, user=USERS)
    def cancel(self, m: Model, user: str) -> None:
        res = self.run(self.store.cancel(m.id, user, now=self.now))
        refusal = self.pending_refusal(m)
        if refusal is None and user != m.requester:
            refusal = Refusal.NOT_REQUESTER
        elif refusal is None:
            m.state = S.CANCELLED
        self.check(m, res, refusal)

    @rule(m=requests, who=WHO, succeeded=st.booleans())
    def finish(self, m: Model, who: str, succeeded: bool) -> None:
        token = m.holder(who)
        res = self.run(self.store.finish(m.id, succeeded, "detail", executor=token, now=self.now))
        refusal = None
        if m.state is not S.EXECUTING:
            refusal = Refusal.NOT_EXECUTING
        elif token != m.token:
            refusal = Refusal.NOT_EXECUTOR
        else:
            m.state = S.SUCCEEDED if succeeded else S.FAILED
        self.check(m, res, refusal)

    @rule(m=requests, who=WHO)
    def renew(self, m: Model, who: str) -> None:
        token = m.holder(who)
        held = self.run(self.store.renew(m.id, token, now=self.now))
        assert held == (m.state is S.EXECUTING and token == m.token)
        if held:
            m.lease_until = self.now + self.store.lease

    @rule()
    def claim_expired(self) -> None:
        claims = self.run(self.store.claim_expired(now=self.now))
        due = {m.id for m in self.models.values() if m.state is S.EXECUTING and m.lease_until <= self.now}
        assert {c.request.id for c in claims} == due
        for claim in claims:
            m = self.models[claim.request.id]
            assert claim.executor not in (m.token, m.previous)
            m.previous, m.token, m.lease_until = m.token, claim.executor, self.now + self.store.lease

    @rule(m=requests, who=WHO, took_effect=st.sampled_from([True, False, None]))
    def reconcile(self, m: Model, who: str, took_effect: bool | None) -> None:
        token = m.holder(who)
        res = self.run(self.store.reconcile(m.id, took_effect, executor=token, now=self.now))
        refusal = None
        if m.state is not S.EXECUTING:
            refusal = Refusal.NOT_EXECUTING
        elif token != m.token:
            refusal = Refusal.NOT_EXECUTOR
        else:
            m.state = S.SUCCEEDED if took_effect else S.FAILED
        self.check(m, res, refusal)

    @rule()
    def expire_due(self) -> None:
        expired = self.run(self.store.expire_due(now=self.now))
        due = {m.id for m in self.models.values() if m.state is S.PENDING and m.deadline <= self.now}
        assert {r.id for r in expired} == due
        for approval_id in due:
            self.models[approval_id].state = S.EXPIRED
            self.terminal[approval_id] = S.EXPIRED

    @invariant()
    def stored_states_match_and_terminal_states_are_final(self) -> None:
        for req in self.run(self.load_all()):
            assert req is not None
            m = self.models[req.id]
            assert req.state is m.state and set(req.approvals) == m.approvers
            assert req.state is self.terminal.get(req.id, req.state)
            assert len(req.approvals) <= req.required_approvals


def test_random_operation_sequences_keep_the_invariants(redis_url: str) -> None:
    class OnTheTestServer(ApprovalMachine):
        def __init__(self) -> None:
            super().__init__(redis_url)

    run_state_machine_as_test(
        OnTheTestServer,
        settings=settings(
            max_examples=examples(30), stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
