"""/api/v1/users/{userId}/factors: list, enroll, unenroll, verify (push, sms, call, email, totp) and poll
push transactions."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from oktaclient.models import UserStatus
from oktasim import _errors
from oktasim._bodies import EnrollFactorBody, VerifyFactorBody
from oktasim._factors import transaction_json
from oktasim._http import Call, json_response, no_content, operation
from oktasim._records import Factor, User, href

READ, MANAGE = "okta.users.read", "okta.users.manage"
ENROLLABLE = frozenset({"push", "sms", "call", "email", "token:software:totp", "webauthn"})
_SENDS_CHALLENGE = frozenset({"sms", "call", "email"})  # a verify call without a passCode sends a code
_TAKES_PASSCODE = _SENDS_CHALLENGE | {"token:software:totp"}
# Okta: unenrolling Okta Verify push (or Fastpass) also unenrolls the user's other Okta Verify factors.
_OKTA_VERIFY = frozenset({"push", "signed_nonce", "token:software:totp"})


def _user_and_factor(call: Call) -> tuple[User, Factor]:
    user = call.org.directory.user_or_404(call.path("userId"))
    factor_id = call.path("factorId")
    factor = next((f for f in user.factors if f.id == factor_id), None)
    if factor is None:
        raise _errors.not_found(factor_id, "UserFactor")
    return user, factor


async def list_factors(call: Call) -> Response:
    user = call.org.directory.user_or_404(call.path("userId"))
    return json_response([f.to_json(call.base, user.id) for f in user.factors])


async def enroll_factor(call: Call) -> Response:
    user = call.org.directory.user_or_404(call.path("userId"))
    body = await call.body(EnrollFactorBody, "factor")
    if body.factorType not in ENROLLABLE:
        raise _errors.validation("factorType", f"factorType: Unsupported factor type: {body.factorType}")
    if any(f.factor_type == body.factorType for f in user.factors):
        raise _errors.validation("factor", "A factor of this type is already set up.")
    # With activate=true Okta skips the activation step for factors that can be verified later (sms, call, email).
    active = call.flag("activate", False) and body.factorType in _SENDS_CHALLENGE
    factor = call.org.enroll_factor(
        user,
        body.factorType,
        status="ACTIVE" if active else "PENDING_ACTIVATION",
        provider=body.provider,
        profile=body.profile or None,
    )
    if active:
        call.org.log.emit(
            "user.mfa.factor.activate", call.origin(), message="Activate factor for user", targets=[user.log_target()]
        )
    return json_response(factor.to_json(call.base, user.id))


async def unenroll_factor(call: Call) -> Response:
    user, factor = _user_and_factor(call)
    if user.status is UserStatus.DEPROVISIONED:  # "You can't unenroll a factor from a deactivated user."
        raise _errors.status_forbids()
    gone = [factor]
    if factor.factor_type in ("push", "signed_nonce"):
        gone += [f for f in user.factors if f is not factor and f.factor_type in _OKTA_VERIFY and f.provider == "OKTA"]
    for each in gone:
        user.factors.remove(each)
        call.org.log.emit(
            "user.mfa.factor.deactivate",
            call.origin(),
            message="Reset factor for user",
            targets=[user.log_target(), each.log_target()],
        )
    user.last_updated = call.org.clock.now()
    return no_content()


async def verify_factor(call: Call) -> Response:
    user, factor = _user_and_factor(call)
    body = await call.body(VerifyFactorBody, "factor")
    if factor.status != "ACTIVE":
        raise _errors.validation("factor", "The factor is not active.")
    if factor.factor_type == "push":
        return _start_push(call, user, factor, body.useNumberMatchingChallenge)
    if factor.factor_type not in _TAKES_PASSCODE:
        raise _errors.validation("factorType", f"Verification of {factor.factor_type} factors is not supported here.")
    if body.passCode is None:
        if factor.factor_type not in _SENDS_CHALLENGE:
            raise _errors.validation("passCode", "passCode: The field cannot be left blank")
        # Okta's own example adds the factor's profile; the spec's schema does not allow it, so it is left out.
        return json_response({"factorResult": "CHALLENGE", "_links": _factor_links(call, user, factor)})
    success = body.passCode == call.org.valid_passcode
    call.org.log.emit(
        "user.authentication.auth_via_mfa",
        call.origin(),
        message="Authentication of user via MFA",
        targets=[user.log_target()],
        outcome="SUCCESS" if success else "FAILURE",
        reason=None if success else "INVALID_CREDENTIALS",
        severity="INFO" if success else "WARN",
    )
    if not success:
        raise _errors.invalid_passcode()
    return json_response({"factorResult": "SUCCESS"})


def _factor_links(call: Call, user: User, factor: Factor) -> dict[str, Any]:
    url = f"{call.base}/api/v1/users/{user.id}/factors/{factor.id}"
    return {"verify": href(f"{url}/verify", "POST"), "factor": href(url, "GET", "DELETE")}


def _start_push(call: Call, user: User, factor: Factor, number_challenge: bool) -> Response:
    tx = call.org.pushes.start(user, factor, number_challenge=number_challenge)
    call.org.log.emit(
        "system.push.send_factor_verify_push",
        call.origin(),
        message="Push sent to user for verification",
        targets=[user.log_target()],
    )
    call.org.ops.push_answered(tx)  # an answer given in advance lands as soon as the push exists
    # The phone has not answered as far as the caller can tell: a push verify always starts WAITING.
    return json_response(transaction_json(tx, "WAITING", user, call.base, challenge=True), status=201)


async def transaction_status(call: Call) -> Response:
    user, factor = _user_and_factor(call)
    tx_id = call.path("transactionId")
    tx = call.org.pushes.transactions.get(tx_id)
    if tx is None or tx.user_id != user.id or tx.factor_id != factor.id:
        raise _errors.not_found(tx_id, "Transaction")
    return json_response(transaction_json(tx, call.org.pushes.result(tx), user, call.base))


ROUTES = [
    operation("GET", "/api/v1/users/{userId}/factors", READ, list_factors),
    operation("POST", "/api/v1/users/{userId}/factors", MANAGE, enroll_factor),
    operation("DELETE", "/api/v1/users/{userId}/factors/{factorId}", MANAGE, unenroll_factor),
    operation("POST", "/api/v1/users/{userId}/factors/{factorId}/verify", MANAGE, verify_factor),
    operation(
        "GET", "/api/v1/users/{userId}/factors/{factorId}/transactions/{transactionId}", READ, transaction_status
    ),
]
