"""The "simulate" panel's endpoints: make the simulated Okta org do what people and attackers do.

Each one writes System Log events through the org's own scenario helpers, so the event hooks
deliver them to the bot exactly as Okta would: alerts, lock-outs, pushes and the "Was this you?"
questions (`suspicious`) can be watched end to end in the console.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.routing import Route

from confirm.signals import REPORTED_EVENT
from console.http import JSONHandler, json_route
from oktasim import OktaError, OktaOrg, User


class LockOut(BaseModel):
    login: str
    failures: int = Field(default=5, ge=1, le=50)
    ip: str = "198.51.100.23"


class Burst(BaseModel):
    login: str
    count: int = Field(default=50, ge=1, le=1000)
    ip: str = "203.0.113.7"


class PushAnswer(BaseModel):
    login: str
    result: Literal["SUCCESS", "REJECTED", "TIMEOUT"] = "SUCCESS"


Suspicion = Literal["factor_enrolled", "factor_reset", "password_changed", "new_country", "push_bombing", "reported"]
HOME_IP = "203.0.113.66"  # New York, in the simulator's GeoIP
ABROAD_IP = "203.0.113.99"  # Lagos


class Suspicious(BaseModel):
    """Something on `login`'s account that the bot asks its owner about (docs/policy.md, was_this_you)."""

    login: str
    kind: Suspicion
    admin: str = "oscar.admin@acme.example"  # who changes the password or resets the factors
    pushes: int = Field(default=3, ge=1, le=20)  # rejected pushes, for push_bombing


def simulate_routes(org: OktaOrg) -> list[Route]:
    async def lock_out(body: LockOut, _: Request) -> dict[str, object]:
        """Failed sign-ins, then Okta locks the account."""
        try:
            user = org.lock_out(_account(org, body.login), failures=body.failures, ip=body.ip)
        except OktaError as exc:  # e.g. the account is not ACTIVE, so Okta cannot lock it
            raise ValueError(f"Okta refuses to lock {body.login} out: {exc.summary}") from None
        return {"login": user.login, "status": user.status.value, "events": body.failures + 1}

    async def burst(body: Burst, _: Request) -> dict[str, object]:
        """Failed sign-ins for one login (known to the org or not) from one IP: a password spray."""
        events = org.fail_sign_ins(body.login, body.count, ip=body.ip)
        return {"login": body.login, "events": len(events)}

    async def push(body: PushAnswer, _: Request) -> dict[str, object]:
        """The person's phone answers their Okta Verify push (the one waiting, or the next one)."""
        transaction = org.answer_push(_account(org, body.login).login, body.result)
        return {"login": body.login, "result": body.result, "answered": "waiting" if transaction else "next"}

    async def suspicious(body: Suspicious, _: Request) -> dict[str, object]:
        """The event that makes the bot ask the account's owner "Was this you?"."""
        before = len(org.log_events)
        _suspicious(org, body)
        return {"login": body.login, "kind": body.kind, "events": len(org.log_events) - before}

    handlers: dict[str, JSONHandler] = {"lockout": lock_out, "burst": burst, "push": push, "suspicious": suspicious}
    return [json_route(f"/console/api/simulate/{name}", handler) for name, handler in handlers.items()]


def _account(org: OktaOrg, login: str) -> User:
    try:
        return org.get_user(login)
    except KeyError:
        raise KeyError(f"the Okta org has no user {login!r}") from None


def _suspicious(org: OktaOrg, body: Suspicious) -> None:
    """Writes the System Log events of `body.kind`, and only those: the account keeps its factors and
    password, so the scene can be played again."""
    user = _account(org, body.login)
    if body.kind == "factor_enrolled":  # by whoever holds the password, from abroad
        org.record_event("user.mfa.factor.activate", actor=user, targets=[user], ip=ABROAD_IP,
                         message="Activate factor for user")  # fmt: skip
    elif body.kind in ("factor_reset", "password_changed"):
        admin = _account(org, body.admin)
        if admin.id == user.id:
            raise ValueError("the change must be made by someone else: the user's own is not suspicious")
        kind, message = (
            ("user.mfa.factor.reset_all", "Reset all factors for user") if body.kind == "factor_reset"
            else ("user.account.reset_password", "Reset password for user")
        )  # fmt: skip
        org.record_event(kind, actor=admin, targets=[user], message=message)
    elif body.kind == "new_country":  # the sign-in at home sets the baseline (a first sign-in asks nothing)
        org.sign_in(user, ip=HOME_IP)
        org.sign_in(user, ip=ABROAD_IP)
    elif body.kind == "push_bombing":
        org.push_bomb(user, body.pushes)  # ValueError (409) when the account has no Okta Verify
    else:
        org.record_event(REPORTED_EVENT, actor=user, targets=[user], message="User report suspicious activity")
