"""The "simulate" panel's endpoints: make the simulated Okta org do what people and attackers do.

Each one writes System Log events through the org's own scenario helpers, so the event hooks
deliver them to the bot exactly as Okta would: alerts, lock-outs and pushes can be watched end to
end in the console.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.routing import Route

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

    handlers: dict[str, JSONHandler] = {"lockout": lock_out, "burst": burst, "push": push}
    return [json_route(f"/console/api/simulate/{name}", handler) for name, handler in handlers.items()]


def _account(org: OktaOrg, login: str) -> User:
    try:
        return org.get_user(login)
    except KeyError:
        raise KeyError(f"the Okta org has no user {login!r}") from None
