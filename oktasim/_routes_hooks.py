"""/api/v1/eventHooks: register, read, replace, delete, activate, deactivate and verify event hooks."""

from __future__ import annotations

from functools import partial

from starlette.responses import Response

from oktaclient.event_types import ELIGIBLE_EVENT_TYPES
from oktasim import _errors, _ids
from oktasim._bodies import EventHookBody
from oktasim._errors import OktaError
from oktasim._hooks import EventHook
from oktasim._http import Call, json_response, no_content, operation

READ, MANAGE = "okta.eventHooks.read", "okta.eventHooks.manage"


async def _checked_body(call: Call) -> EventHookBody:
    body = await call.body(EventHookBody, "eventHook")
    ineligible = [t for t in body.events.items if t not in ELIGIBLE_EVENT_TYPES]
    if ineligible:
        raise _errors.validation(
            "eventHook", *(f"events.items: {t} is not an event type eligible for event hooks." for t in ineligible)
        )
    return body


def _apply(hook: EventHook, body: EventHookBody) -> None:
    config = body.channel.config
    if config.uri != hook.uri:
        hook.verification_status = "UNVERIFIED"  # a new endpoint has to prove itself again
    hook.name, hook.event_types, hook.uri = body.name, list(body.events.items), config.uri
    hook.headers = [{"key": h.key, "value": h.value} for h in config.headers]
    scheme = config.authScheme
    if scheme is None:
        hook.auth_key = hook.auth_value = None
    else:
        # The secret is write-only: a replace that leaves it out keeps the one Okta already has.
        keep = scheme.value is None and scheme.key == hook.auth_key
        hook.auth_key, hook.auth_value = scheme.key, hook.auth_value if keep else scheme.value


async def list_hooks(call: Call) -> Response:
    return json_response([h.to_json(call.base) for h in call.org.hooks.hooks.values()])


async def create_hook(call: Call) -> Response:
    body = await _checked_body(call)
    org, now = call.org, call.org.clock.now()
    hook = EventHook(
        id=org.ids.okta_id(_ids.EVENT_HOOK),
        name=body.name,
        event_types=[],
        uri=body.channel.config.uri,
        headers=[],
        auth_key=None,
        auth_value=None,
        created=now,
        created_by=str(call.principal.actor["id"]),
        last_updated=now,
    )
    _apply(hook, body)
    org.hooks.hooks[hook.id] = hook
    org.log.emit("event_hook.created", call.origin(), message="Event hook created", targets=[hook.log_target()])
    return json_response(hook.to_json(call.base))


async def get_hook(call: Call) -> Response:
    return json_response(call.org.hooks.hook_or_404(call.path("eventHookId")).to_json(call.base))


async def replace_hook(call: Call) -> Response:
    hook = call.org.hooks.hook_or_404(call.path("eventHookId"))
    _apply(hook, await _checked_body(call))
    hook.last_updated = call.org.clock.now()
    return json_response(hook.to_json(call.base))


async def delete_hook(call: Call) -> Response:
    hook = call.org.hooks.hook_or_404(call.path("eventHookId"))
    if hook.status != "INACTIVE":
        raise OktaError(
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
            ["Only an INACTIVE event hook can be deleted: deactivate it first."],
        )
    del call.org.hooks.hooks[hook.id]
    call.org.log.emit("event_hook.deleted", call.origin(), message="Event hook deleted", targets=[hook.log_target()])
    return no_content()


async def _set_status(call: Call, status: str) -> Response:
    hook = call.org.hooks.hook_or_404(call.path("eventHookId"))
    hook.status, hook.last_updated = status, call.org.clock.now()
    event_type = "event_hook.activated" if status == "ACTIVE" else "event_hook.deactivated"
    call.org.log.emit(event_type, call.origin(), message=f"Event hook {status.lower()}", targets=[hook.log_target()])
    return json_response(hook.to_json(call.base))


async def verify_hook(call: Call) -> Response:
    hook = call.org.hooks.hook_or_404(call.path("eventHookId"))
    await call.org.hooks.verify(hook, call.origin())
    return json_response(hook.to_json(call.base))


_ONE = "/api/v1/eventHooks/{eventHookId}"
ROUTES = [
    operation("GET", "/api/v1/eventHooks", READ, list_hooks),
    operation("POST", "/api/v1/eventHooks", MANAGE, create_hook),
    operation("GET", _ONE, READ, get_hook),
    operation("PUT", _ONE, MANAGE, replace_hook),
    operation("DELETE", _ONE, MANAGE, delete_hook),
    operation("POST", f"{_ONE}/lifecycle/activate", MANAGE, partial(_set_status, status="ACTIVE")),
    operation("POST", f"{_ONE}/lifecycle/deactivate", MANAGE, partial(_set_status, status="INACTIVE")),
    operation("POST", f"{_ONE}/lifecycle/verify", MANAGE, verify_hook),
]
