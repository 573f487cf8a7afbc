"""OktaOrg: one simulated Okta org, its state, the knobs tests turn, and the operations the API and
the scenario helpers share (so both write the same System Log events and trigger the same hooks).

State set-up helpers (add_user, add_group, add_member, enroll_factor) change state silently, like an
org that already looked that way; scenario helpers (lock_out, fail_sign_ins, sign_in, record_event,
answer_push, push_bomb) and API calls write System Log events, which event hooks deliver; the operations both
share live in `org.ops`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from oktaclient.models import UserStatus
from oktasim import _ids
from oktasim._auth import Credentials, PublicKeys, TokenRequest
from oktasim._clock import Clock
from oktasim._directory import Directory
from oktasim._factors import PushBook, PushTransaction
from oktasim._faults import FaultInjector
from oktasim._hooks import HookDelivery, HookDispatcher
from oktasim._ids import IdFactory
from oktasim._logs import Origin, SystemLog
from oktasim._operations import Operations
from oktasim._ratelimit import Concurrency, RateLimiter
from oktasim._records import Factor, Group, User
from oktasim._status import Op, next_status

API_TOKEN_ACTOR = {
    "id": "00uapitokenadmin0000",
    "type": "User",
    "alternateId": "api.admin@acme.example",
    "displayName": "API Token Admin",
}
_FACTOR_PROVIDERS = {"webauthn": "FIDO", "token:software:totp": "GOOGLE"}


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: str  # the raw query string


class OktaOrg:
    def __init__(self, seed: int = 0) -> None:
        self.clock = Clock()
        self.ids = IdFactory(seed)
        self.directory = Directory()
        self.log = SystemLog(self.clock, self.ids)
        self.hooks = HookDispatcher(self.clock, self.ids, self.log)
        self.credentials = Credentials(self.clock)
        self.rate_limits = RateLimiter(self.clock)
        self.concurrency = Concurrency(self.clock)
        self.faults = FaultInjector()
        self.pushes = PushBook(self.clock, self.ids)
        self.requests: list[RecordedRequest] = []
        self._request_waiters: list[tuple[str, str, asyncio.Future[RecordedRequest]]] = []
        self.valid_passcode = "123456"  # the one-time code sms/totp verification accepts
        self.ops = Operations(self.clock, self.ids, self.directory, self.log)
        self.add_group("Everyone", "All users in your organization", group_type="BUILT_IN")

    # configuration

    @property
    def base_url(self) -> str:
        """The org URL as clients reach it (kept current from incoming requests)."""
        return self.hooks.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.hooks.base_url = value.rstrip("/")

    def add_api_token(self, token: str, scopes: Iterable[str] | None = None, *, owner: str | None = None) -> None:
        """An SSWS token; unrestricted unless `scopes` is given. `owner` (a login) is the actor of its changes."""
        actor = self.get_user(owner).log_target() if owner else dict(API_TOKEN_ACTOR)
        self.credentials.add_api_token(token, scopes, actor)

    def register_oauth_client(self, client_id: str, keys: PublicKeys, scopes: Iterable[str]) -> None:
        """A service app: its public key as PEM, one JWK, or a JWKS's list of JWKs (each with a kid and
        optionally a status, ACTIVE or INACTIVE); ValueError for keys Okta would refuse."""
        self.credentials.register_client(client_id, keys, scopes)

    @property
    def access_token_ttl(self) -> int:
        return self.credentials.access_token_ttl

    @access_token_ttl.setter
    def access_token_ttl(self, seconds: int) -> None:
        self.credentials.access_token_ttl = seconds

    @property
    def token_requests(self) -> list[TokenRequest]:
        return self.credentials.token_requests

    def set_rate_limit(self, limit: int, window_seconds: float = 60.0, bucket: str | None = None) -> None:
        """One bucket by Okta's name ("GET /api/v1/users/{idOrLogin}", "/api/v1", "cumulative", ...: the
        table in oktasim/_ratelimit.py); without `bucket`, every bucket (e.g. set_rate_limit(100_000) for a load
        beyond Okta's limits). ValueError for an unknown name."""
        self.rate_limits.configure(limit, window_seconds, bucket)

    def set_concurrency_limit(self, limit: int) -> None:
        """Requests in flight at once beyond which the org answers 429 (Okta's default: 75)."""
        self.concurrency.limit = limit

    @property
    def in_flight(self) -> int:
        return self.concurrency.in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most requests the org has had in flight at once."""
        return self.concurrency.peak

    async def until_in_flight(self, count: int) -> None:
        """Returns once exactly `count` requests are in flight (e.g. held by inject_delay)."""
        await self.concurrency.reaches(count)

    @property
    def transition_seconds(self) -> float:
        """How long activation and deactivation take (org clock); meanwhile the user shows transitioningToStatus.
        0 (the default): they complete at once."""
        return self.ops.transition_seconds

    @transition_seconds.setter
    def transition_seconds(self, seconds: float) -> None:
        self.ops.transition_seconds = seconds

    def inject_failure(self, method: str, path_prefix: str, status: int = 500, times: int = 1) -> None:
        self.faults.add_failure(method, path_prefix, status, times)

    def inject_delay(self, method: str, path_prefix: str, seconds: float, times: int = 1) -> None:
        """The next matching requests are carried out, then answered `seconds` late (or when the client gives up)."""
        self.faults.add_delay(method, path_prefix, seconds, times)

    def record_request(self, request: RecordedRequest) -> None:
        """A request arrived (before it is carried out or answered)."""
        self.requests.append(request)
        for waiter in [w for w in self._request_waiters if _matches(request, w[0], w[1])]:
            self._request_waiters.remove(waiter)
            if not waiter[2].done():
                waiter[2].set_result(request)

    async def until_request(self, method: str, path_part: str) -> RecordedRequest:
        """Returns the first request, arrived or to come, with `method` and `path_part` in its path
        (e.g. a write held by inject_delay, once it has reached the org)."""
        for request in self.requests:
            if _matches(request, method, path_part):
                return request
        future: asyncio.Future[RecordedRequest] = asyncio.get_running_loop().create_future()
        self._request_waiters.append((method.upper(), path_part, future))
        return await future

    def clear_faults(self) -> None:
        """Forget the injected failures and delays not taken yet: Okta is well again."""
        self.faults.clear()

    def advance_time(self, seconds: float) -> None:
        """Moves the org's clock forward: token expiry, rate-limit windows, push timeouts, transitions."""
        self.clock.advance(seconds)
        self.ops.settle(self.clock.now())

    @property
    def hook_timeout(self) -> float:
        return self.hooks.timeout

    @hook_timeout.setter
    def hook_timeout(self, seconds: float) -> None:
        self.hooks.timeout = seconds

    # state set-up (silent)

    def add_user(
        self,
        login: str,
        first_name: str,
        last_name: str,
        *,
        status: UserStatus | str = UserStatus.ACTIVE,
        password: bool = True,
        groups: Iterable[str] = (),
        created: datetime | None = None,
        **profile: Any,
    ) -> User:
        user = self.ops.new_user(
            {"firstName": first_name, "lastName": last_name, "email": login, "login": login, **profile},
            UserStatus(status),
            password,
            created or self.clock.now(),
        )
        for group in groups:
            self.add_member(group, user)
        return user

    def get_user(self, key: str) -> User:
        """By id, login or unambiguous login shortname; KeyError when there is none."""
        user = self.directory.find_user(key)
        if user is None:
            raise KeyError(key)
        return user

    def add_group(
        self, name: str, description: str = "", *, privileged: bool = False, group_type: str = "OKTA_GROUP"
    ) -> Group:
        now = self.clock.now()
        group = Group(self.ids.okta_id(_ids.GROUP), name, description, group_type, now, now, now, privileged)
        self.directory.add_group(group)
        return group

    def get_group(self, key: str) -> Group:
        """By id or name; KeyError when there is none."""
        group = self.directory.groups.get(key) or self.directory.group_named(key)
        if group is None:
            raise KeyError(key)
        return group

    def add_member(self, group: Group | str, user: User | str) -> None:
        self._group(group).member_ids.add(self._user(user).id)

    def enroll_factor(
        self,
        user: User | str,
        factor_type: str,
        *,
        status: str = "ACTIVE",
        provider: str | None = None,
        profile: dict[str, Any] | None = None,
        created: datetime | None = None,
    ) -> Factor:
        target = self._user(user)
        moment = created or self.clock.now()
        factor = Factor(
            id=self.ids.factor_id(factor_type),
            factor_type=factor_type,
            provider=provider or _FACTOR_PROVIDERS.get(factor_type, "OKTA"),
            status=status,
            created=moment,
            last_updated=moment,
            profile=profile or _default_factor_profile(factor_type, target),
        )
        target.factors.append(factor)
        return factor

    def _user(self, user: User | str) -> User:
        return user if isinstance(user, User) else self.get_user(user)

    def _group(self, group: Group | str) -> Group:
        return group if isinstance(group, Group) else self.get_group(group)

    # scenario helpers (write System Log events)

    def lock_out(self, user: User | str, *, failures: int = 5, ip: str = "198.51.100.23") -> User:
        """`failures` failed sign-ins, then Okta locks the account (user.account.lock, LOCKED_OUT)."""
        target = self._user(user)
        next_status(Op.LOCK, target.status, target.has_password)  # refuses before any event is written
        self.fail_sign_ins(target.login, failures, ip=ip)
        self.ops.transition(target, Op.LOCK, Origin(actor=target.log_target(), ip=ip))
        return target

    def fail_sign_ins(self, login: str, count: int, *, ip: str = "203.0.113.7") -> list[dict[str, Any]]:
        """A burst of failed sign-ins (user.session.start FAILURE) for `login`, known to the org or not."""
        user = self.directory.login_owner(login)
        actor = (
            user.log_target()
            if user
            else {"id": "unknown", "type": "User", "alternateId": login, "displayName": "unknown"}
        )
        reason = "INVALID_CREDENTIALS" if user else "VERIFICATION_ERROR"
        origin = Origin(actor=actor, ip=ip, user_agent="Mozilla/5.0")
        return [
            self.log.emit(
                "user.session.start",
                origin,
                message="User login to Okta",
                outcome="FAILURE",
                reason=reason,
                severity="WARN",
            )
            for _ in range(count)
        ]

    def sign_in(self, user: User | str, *, ip: str = "192.0.2.10") -> dict[str, Any]:
        """A successful sign-in: user.session.start SUCCESS, lastLogin, one more session."""
        target = self._user(user)
        target.last_login = self.clock.now()
        target.sessions += 1
        origin = Origin(actor=target.log_target(), ip=ip, user_agent="Mozilla/5.0")
        return self.log.emit("user.session.start", origin, message="User login to Okta")

    def record_event(
        self,
        event_type: str,
        *,
        actor: User | str | None = None,
        targets: Iterable[User | Group | dict[str, Any]] = (),
        outcome: str = "SUCCESS",
        reason: str | None = None,
        severity: str = "INFO",
        message: str | None = None,
        ip: str = "203.0.113.7",
    ) -> dict[str, Any]:
        """Any System Log event (e.g. security.threat.detected), as if Okta had observed it."""
        origin = Origin(actor=self._user(actor).log_target(), ip=ip) if actor else Origin(ip=ip)
        target_json = [t if isinstance(t, dict) else t.log_target() for t in targets]
        return self.log.emit(
            event_type,
            origin,
            message=message or event_type,
            targets=target_json,
            outcome=outcome,
            reason=reason,
            severity=severity,
        )

    def answer_push(self, key: str, result: str, number: int | None = None) -> PushTransaction | None:
        """Answers a push (by transaction id, or the newest waiting push of a user id or login) as the
        user's phone would; with none waiting, the user's next push gets this answer. `number`: the
        number picked on a number matching challenge (a wrong one rejects the push)."""
        user = self.directory.find_user(key)
        tx = self.pushes.answer(user.id if user and key not in self.pushes.transactions else key, result, number)
        if tx is not None:
            self.ops.push_answered(tx)
        return tx

    def push_bomb(self, user: User | str, count: int) -> list[PushTransaction]:
        """MFA fatigue: `count` Okta Verify pushes that someone holding the password sets off, each
        rejected by the user's phone. The user needs an active push factor."""
        target = self._user(user)
        push = next((f for f in target.factors if f.factor_type == "push" and f.status == "ACTIVE"), None)
        if push is None:
            raise ValueError(f"{target.login} has no active Okta Verify push factor")
        rejected = []
        for _ in range(count):
            tx = self.pushes.start(target, push)
            answered = self.answer_push(tx.id, "REJECTED")
            assert answered is not None
            rejected.append(answered)
        return rejected

    # views and hooks

    @property
    def log_events(self) -> list[dict[str, Any]]:
        return self.log.events

    @property
    def hook_deliveries(self) -> list[HookDelivery]:
        return self.hooks.deliveries

    async def hooks_idle(self) -> None:
        """Returns once no event hook delivery is pending or in flight."""
        await self.hooks.idle()

    async def redeliver_last(self) -> None:
        """Sends the last event hook delivery again, verbatim (same eventId): Okta delivers at least once."""
        await self.hooks.redeliver_last()


def _default_factor_profile(factor_type: str, user: User) -> dict[str, Any]:
    if factor_type == "push":
        return {
            "credentialId": user.login,
            "deviceType": "SmartPhone_IPhone",
            "name": "iPhone",
            "platform": "IOS",
            "version": "17.5",
        }
    if factor_type in ("sms", "call"):
        return {"phoneNumber": f"+1415555{int(user.id.encode().hex(), 16) % 10000:04d}"}
    if factor_type == "webauthn":
        return {"authenticatorName": "MacBook Touch ID", "credentialId": user.id[::-1]}
    return {"credentialId": user.login}


def _matches(request: RecordedRequest, method: str, path_part: str) -> bool:
    return request.method == method.upper() and path_part in request.path
