"""Every operation the simulator implements, checked against Okta's official OpenAPI spec: each answer's
status code must be one the spec lists for that operation, and its body must validate against the
schema the spec gives for that status (success bodies and Error bodies alike).

The spec lives beside the project (../shared/okta-openapi/management-api.yaml). One simulator and one
hook receiver serve the whole module (a server per operation would be slow); every scenario works on
users and hooks it creates itself, so scenarios do not depend on each other.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.server import BackgroundServer
from oktasim import OktaOrg, create_app, seed_demo_org

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "okta-openapi"
TOKEN, NO_SCOPES_TOKEN = "00conformance", "00conformance-no-scopes"
MISSING = "00u0000nosuchthing00"

@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    with (SPEC_DIR / "management-api.yaml").open() as f:
        return yaml.load(f, Loader=yaml.CSafeLoader)


# Implemented beyond OPERATIONS.md because the project's Okta client uses them.
EXTRA_OPERATIONS = [("GET", "/api/v1/groups/{groupId}", "getGroup")]


def _listed_operations() -> list[tuple[str, str, str]]:
    """(METHOD, path template, operationId) for each row of OPERATIONS.md."""
    rows = re.findall(r"^\| (GET|POST|PUT|DELETE) \| (\S+) \| (\w+) \|", (SPEC_DIR / "OPERATIONS.md").read_text(), re.MULTILINE)
    assert rows, "OPERATIONS.md lists no operations"
    return rows


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _schema_errors(spec: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    # $refs point into the spec's components, so the schema is validated as a document carrying them.
    validator = OAS30ReadValidator({**schema, "components": spec["components"]}, format_checker=oas30_format_checker)
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}" for e in validator.iter_errors(instance)
    ]
    # The validator does not apply discriminators; apply them: the value must be mapped, and the
    # mapped schema (e.g. UserFactorPush for factorType "push") must hold too.
    target = _resolve(spec, schema)
    item_schema, items = (
        (_resolve(spec, target["items"]), instance) if target.get("type") == "array" else (target, [instance])
    )
    discriminator: dict[str, Any] = item_schema.get("discriminator") or {}
    for item in items if discriminator else ():
        value = item.get(discriminator["propertyName"])
        mapped = discriminator.get("mapping", {}).get(value)
        if mapped is None:
            errors.append(f"{discriminator['propertyName']}={value!r} is not in the discriminator mapping")
        elif mapped != schema.get("$ref"):
            errors += _schema_errors(spec, {"$ref": mapped}, item)
    return errors


def check(spec: dict[str, Any], method: str, template: str, response: httpx.Response) -> None:
    operation = spec["paths"][template][method.lower()]
    listed = operation["responses"]
    status = str(response.status_code)
    assert status in listed, (
        f"{operation['operationId']} answered {status}; the spec lists {sorted(listed)}: {response.text}"
    )
    content = _resolve(spec, listed[status]).get("content") or {}
    if "application/json" not in content:
        assert response.content == b"", f"{operation['operationId']} {status} has no body in the spec"
        return
    errors = _schema_errors(spec, content["application/json"]["schema"], response.json())
    assert not errors, f"{operation['operationId']} {status} does not match the spec:\n" + "\n".join(errors)


@dataclass
class Env:
    org: OktaOrg
    api: httpx.AsyncClient
    hook_uri: str  # a receiver that answers Okta's verification challenge
    silent_uri: str  # one that does not (404)

    def user(self, status: str = "ACTIVE", **kwargs: Any) -> str:
        """A fresh user of this scenario's own."""
        login = f"conformance.{len(self.org.directory.users)}@acme.example"
        return self.org.add_user(login, "Con", "Formance", status=status, **kwargs).id

    async def hook(self, *, verified: bool = False, active: bool = True) -> str:
        body = {
            "name": "conformance",
            "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.suspend"]},
            "channel": {
                "type": "HTTP",
                "version": "1.0.0",
                "config": {
                    "uri": self.hook_uri,
                    "authScheme": {"type": "HEADER", "key": "Authorization", "value": "s3cret"},
                },
            },
        }
        hook_id = str((await self.api.post("/api/v1/eventHooks", json=body)).json()["id"])
        if verified:
            await self.api.post(f"/api/v1/eventHooks/{hook_id}/lifecycle/verify")
        if not active:
            await self.api.post(f"/api/v1/eventHooks/{hook_id}/lifecycle/deactivate")
        return hook_id


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env() -> AsyncIterator[Env]:
    org = seed_demo_org()
    org.add_api_token(TOKEN)
    org.add_api_token(NO_SCOPES_TOKEN, scopes=())

    async def verification(request: Request) -> JSONResponse:
        return JSONResponse({"verification": request.headers.get("x-okta-verification-challenge")})

    receiver = Starlette(routes=[Route("/hook", verification, methods=["GET"])])
    headers = {"Authorization": f"SSWS {TOKEN}"}
    async with (
        BackgroundServer(create_app(org)) as sim,
        BackgroundServer(receiver) as hooks,
        httpx.AsyncClient(base_url=sim.url, headers=headers) as api,
    ):
        yield Env(org, api, f"{hooks.url}/hook", f"{hooks.url}/nothing-here")


Scenario = Callable[[Env], Awaitable[list[httpx.Response]]]
_HOOK: dict[str, Any] = {
    "name": "x",
    "events": {"type": "EVENT_TYPE", "items": ["user.account.lock"]},
    "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": "https://hooks.example/okta"}},
}
_INELIGIBLE_HOOK: dict[str, Any] = {**_HOOK, "events": {"type": "EVENT_TYPE", "items": ["not.an.event"]}}


def _lifecycle(op: str, ok_from: str, refused_from: str, **params: str) -> Scenario:
    async def scenario(env: Env) -> list[httpx.Response]:
        url = "/api/v1/users/{}/lifecycle/" + op
        return [
            await env.api.post(url.format(env.user(ok_from)), params=params),
            await env.api.post(url.format(env.user(refused_from)), params=params),
            await env.api.post(url.format(MISSING), params=params),
        ]

    return scenario


async def _list_users(env: Env) -> list[httpx.Response]:
    return [
        await env.api.get("/api/v1/users", params={"limit": "5"}),
        await env.api.get("/api/v1/users", params={"search": 'status eq "DEPROVISIONED"'}),
        await env.api.get("/api/v1/users", params={"q": "alex"}),
    ]


async def _create_user(env: Env) -> list[httpx.Response]:
    profile = {
        "firstName": "New",
        "lastName": "Hire",
        "email": "new.hire@acme.example",
        "login": "new.hire@acme.example",
    }
    return [
        await env.api.post(
            "/api/v1/users", json={"profile": profile, "credentials": {"password": {"value": "Pa55-word!"}}}
        ),
        await env.api.post(
            "/api/v1/users",
            params={"activate": "false"},
            json={"profile": {**profile, "login": "staged@acme.example", "email": "staged@acme.example"}},
        ),
        await env.api.post("/api/v1/users", json={"profile": profile}),
    ]


async def _get_user(env: Env) -> list[httpx.Response]:
    answers = [
        await env.api.get(f"/api/v1/users/{env.user()}"),
        await env.api.get("/api/v1/users/lee.locked"),
        await env.api.get(f"/api/v1/users/{MISSING}"),
    ]
    env.org.set_rate_limit(0, 60, bucket="GET /api/v1/users/{idOrLogin}")
    answers.append(await env.api.get(f"/api/v1/users/{env.user()}"))
    env.org.set_rate_limit(2_000, 60, bucket="GET /api/v1/users/{idOrLogin}")
    assert answers[-1].status_code == 429
    return answers


def _update(method: str) -> Scenario:
    async def scenario(env: Env) -> list[httpx.Response]:
        user_id = env.user()
        login = f"{method.lower()}.{user_id}@acme.example"
        profile = {"firstName": "Con", "lastName": "Formance", "email": login, "login": login}
        return [
            await env.api.request(method, f"/api/v1/users/{user_id}", json={"profile": profile}),
            await env.api.request(method, f"/api/v1/users/{user_id}", json={"profile": {"email": "nope"}}),
            await env.api.request(method, f"/api/v1/users/{MISSING}", json={"profile": profile}),
        ]

    return scenario


async def _delete_user(env: Env) -> list[httpx.Response]:
    user_id = env.user()
    return [
        await env.api.delete(f"/api/v1/users/{user_id}"),
        await env.api.delete(f"/api/v1/users/{user_id}"),
        await env.api.delete(f"/api/v1/users/{user_id}"),
    ]


async def _user_groups(env: Env) -> list[httpx.Response]:
    return [await env.api.get("/api/v1/users/oscar.admin/groups"), await env.api.get(f"/api/v1/users/{MISSING}/groups")]


async def _sessions(env: Env) -> list[httpx.Response]:
    return [
        await env.api.delete(f"/api/v1/users/{env.user()}/sessions"),
        await env.api.delete(f"/api/v1/users/{MISSING}/sessions"),
    ]


async def _list_groups(env: Env) -> list[httpx.Response]:
    return [
        await env.api.get("/api/v1/groups", params={"expand": "stats"}),
        await env.api.get("/api/v1/groups", params={"search": 'type eq "OKTA_GROUP"', "limit": "2"}),
    ]


async def _add_group(env: Env) -> list[httpx.Response]:
    return [
        await env.api.post("/api/v1/groups", json={"profile": {"name": "Conformance", "description": "x"}}),
        await env.api.post("/api/v1/groups", json={"profile": {"name": "Conformance"}}),
    ]


async def _get_group(env: Env) -> list[httpx.Response]:
    group = env.org.get_group("Okta Admins").id
    return [await env.api.get(f"/api/v1/groups/{group}"), await env.api.get(f"/api/v1/groups/{MISSING}")]


async def _group_users(env: Env) -> list[httpx.Response]:
    group = env.org.get_group("Engineering").id
    return [
        await env.api.get(f"/api/v1/groups/{group}/users", params={"limit": "3"}),
        await env.api.get(f"/api/v1/groups/{MISSING}/users"),
    ]


def _membership(method: str) -> Scenario:
    async def scenario(env: Env) -> list[httpx.Response]:
        group, user_id = env.org.get_group("Sales").id, env.user()
        if method == "DELETE":
            env.org.add_member(group, user_id)
        return [
            await env.api.request(method, f"/api/v1/groups/{group}/users/{user_id}"),
            await env.api.request(method, f"/api/v1/groups/{group}/users/{MISSING}"),
        ]

    return scenario


async def _logs(env: Env) -> list[httpx.Response]:
    env.org.lock_out(env.user())
    env.org.sign_in(env.user())
    since = env.org.clock.now().replace(year=env.org.clock.now().year - 1).isoformat()
    too_old = await env.api.get("/api/v1/logs", params={"since": since})
    assert too_old.status_code == 400
    return [
        await env.api.get("/api/v1/logs"),
        await env.api.get("/api/v1/logs", params={"sortOrder": "DESCENDING"}),
        await env.api.get("/api/v1/logs", params={"until": "never"}),
        too_old,
    ]


async def _list_factors(env: Env) -> list[httpx.Response]:
    user_id = env.user()
    for factor_type in ("push", "sms", "token:software:totp", "webauthn"):
        env.org.enroll_factor(user_id, factor_type)
    return [
        await env.api.get(f"/api/v1/users/{user_id}/factors"),
        await env.api.get(f"/api/v1/users/{MISSING}/factors"),
    ]


async def _enroll_factor(env: Env) -> list[httpx.Response]:
    user_id = env.user()
    sms = {"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": "+14155550100"}}
    url = f"/api/v1/users/{user_id}/factors"
    return [
        await env.api.post(url, json=sms, params={"activate": "true"}),
        await env.api.post(url, json={"factorType": "push", "provider": "OKTA"}),
        await env.api.post(url, json=sms),
        await env.api.post(f"/api/v1/users/{MISSING}/factors", json=sms),
    ]


async def _verify_factor(env: Env) -> list[httpx.Response]:
    user_id = env.user()
    push, sms = env.org.enroll_factor(user_id, "push"), env.org.enroll_factor(user_id, "sms")
    totp = env.org.enroll_factor(user_id, "token:software:totp")
    url = "/api/v1/users/{}/factors/{}/verify"
    return [
        await env.api.post(url.format(user_id, push.id)),
        await env.api.post(url.format(user_id, push.id), json={"useNumberMatchingChallenge": True}),
        await env.api.post(url.format(user_id, sms.id)),
        await env.api.post(url.format(user_id, sms.id), json={"passCode": env.org.valid_passcode}),
        await env.api.post(url.format(user_id, sms.id), json={"passCode": "000000"}),
        await env.api.post(url.format(user_id, totp.id)),
        await env.api.post(url.format(user_id, MISSING)),
    ]


async def _transaction(env: Env) -> list[httpx.Response]:
    user_id = env.user()
    push = env.org.enroll_factor(user_id, "push")
    answers = []
    for result in ("WAITING", "SUCCESS", "REJECTED", "TIMEOUT"):
        started = await env.api.post(f"/api/v1/users/{user_id}/factors/{push.id}/verify")
        poll = started.json()["_links"]["poll"]["href"]
        if result != "WAITING":
            env.org.answer_push(poll.rsplit("/", 1)[1], result)
        answers.append(await env.api.get(poll))
        assert answers[-1].json()["factorResult"] == result
    answers.append(await env.api.get(f"/api/v1/users/{user_id}/factors/{push.id}/transactions/v2mst.nosuchthing"))
    return answers


async def _list_hooks(env: Env) -> list[httpx.Response]:
    await env.hook(verified=True)
    return [await env.api.get("/api/v1/eventHooks")]


async def _create_hook(env: Env) -> list[httpx.Response]:
    return [
        await env.api.post("/api/v1/eventHooks", json=_HOOK),
        await env.api.post("/api/v1/eventHooks", json=_INELIGIBLE_HOOK),
    ]


async def _get_hook(env: Env) -> list[httpx.Response]:
    return [
        await env.api.get(f"/api/v1/eventHooks/{await env.hook()}"),
        await env.api.get(f"/api/v1/eventHooks/{MISSING}"),
    ]


async def _replace_hook(env: Env) -> list[httpx.Response]:
    url = f"/api/v1/eventHooks/{await env.hook()}"
    return [
        await env.api.put(url, json=_HOOK),
        await env.api.put(url, json=_INELIGIBLE_HOOK),
        await env.api.put(f"/api/v1/eventHooks/{MISSING}", json=_HOOK),
    ]


async def _delete_hook(env: Env) -> list[httpx.Response]:
    return [
        await env.api.delete(f"/api/v1/eventHooks/{await env.hook(active=False)}"),
        await env.api.delete(f"/api/v1/eventHooks/{await env.hook()}"),
        await env.api.delete(f"/api/v1/eventHooks/{MISSING}"),
    ]


def _hook_lifecycle(action: str) -> Scenario:
    async def scenario(env: Env) -> list[httpx.Response]:
        hook_id = await env.hook(active=action == "activate")
        answers = [
            await env.api.post(f"/api/v1/eventHooks/{hook_id}/lifecycle/{action}"),
            await env.api.post(f"/api/v1/eventHooks/{MISSING}/lifecycle/{action}"),
        ]
        if action == "verify":
            await env.api.put(
                f"/api/v1/eventHooks/{hook_id}",
                json={**_HOOK, "channel": {**_HOOK["channel"], "config": {"uri": env.silent_uri}}},
            )
            answers.append(await env.api.post(f"/api/v1/eventHooks/{hook_id}/lifecycle/verify"))
            assert answers[-1].status_code == 400
        return answers

    return scenario


SCENARIOS: dict[str, Scenario] = {
    "listEventHooks": _list_hooks,
    "createEventHook": _create_hook,
    "getEventHook": _get_hook,
    "replaceEventHook": _replace_hook,
    "deleteEventHook": _delete_hook,
    "activateEventHook": _hook_lifecycle("activate"),
    "deactivateEventHook": _hook_lifecycle("deactivate"),
    "verifyEventHook": _hook_lifecycle("verify"),
    "listGroups": _list_groups,
    "addGroup": _add_group,
    "getGroup": _get_group,
    "listGroupUsers": _group_users,
    "assignUserToGroup": _membership("PUT"),
    "unassignUserFromGroup": _membership("DELETE"),
    "listLogEvents": _logs,
    "listUsers": _list_users,
    "createUser": _create_user,
    "getUser": _get_user,
    "updateUser": _update("POST"),
    "replaceUser": _update("PUT"),
    "deleteUser": _delete_user,
    "listUserGroups": _user_groups,
    "activateUser": _lifecycle("activate", "STAGED", "ACTIVE", sendEmail="false"),
    "deactivateUser": _lifecycle("deactivate", "SUSPENDED", "DEPROVISIONED"),
    "expirePassword": _lifecycle("expire_password", "ACTIVE", "SUSPENDED"),
    "expirePasswordWithTempPassword": _lifecycle("expire_password_with_temp_password", "ACTIVE", "STAGED"),
    "reactivateUser": _lifecycle("reactivate", "PROVISIONED", "ACTIVE", sendEmail="false"),
    "resetFactors": _lifecycle("reset_factors", "LOCKED_OUT", "DEPROVISIONED"),
    "resetPassword": _lifecycle("reset_password", "ACTIVE", "SUSPENDED", sendEmail="false"),
    "suspendUser": _lifecycle("suspend", "ACTIVE", "LOCKED_OUT"),
    "unlockUser": _lifecycle("unlock", "LOCKED_OUT", "ACTIVE"),
    "unsuspendUser": _lifecycle("unsuspend", "SUSPENDED", "ACTIVE"),
    "listFactors": _list_factors,
    "enrollFactor": _enroll_factor,
    "getFactorTransactionStatus": _transaction,
    "verifyFactor": _verify_factor,
    "revokeUserSessions": _sessions,
}


def test_every_listed_operation_has_a_scenario() -> None:
    assert sorted(SCENARIOS) == sorted(op for _, _, op in _listed_operations() + EXTRA_OPERATIONS)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("method", "template", "operation_id"), _listed_operations() + EXTRA_OPERATIONS, ids=lambda value: str(value)
)
async def test_operation_conforms(
    method: str, template: str, operation_id: str, env: Env, spec: dict[str, Any]
) -> None:
    answers = await SCENARIOS[operation_id](env)
    assert any(r.status_code < 300 for r in answers), f"{operation_id}: no scenario succeeded"
    # Without the operation's scope the caller is refused with 403 before the path is even looked up.
    placeholders: defaultdict[str, str] = defaultdict(lambda: MISSING)
    forbidden = await env.api.request(
        method,
        template.format_map(placeholders),
        json={} if method in ("POST", "PUT") else None,
        headers={"Authorization": f"SSWS {NO_SCOPES_TOKEN}"},
    )
    assert forbidden.status_code == 403
    for response in [*answers, forbidden]:
        check(spec, method, template, response)
