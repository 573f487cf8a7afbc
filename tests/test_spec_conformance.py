"""Every operation the simulator implements, checked against Okta's official OpenAPI spec: each answer's
status code must be one the spec lists for that operation, and its body must validate against the
schema the spec gives for that status (success bodies and Error bodies alike) and carry no top-level
property the schema does not document. Beyond the spec's schemas, every answer must be shaped as Okta
answers: X-Okta-Request-Id and X-Rate-Limit-* headers, Error bodies with all five properties, errorCauses
for validation failures, the error codes Okta uses for bad tokens (401 E0000011), missing scopes (403
E0000006) and bodies that do not parse (400 E0000003); and the token endpoint answers OAuth errors.

The spec lives beside the project (../shared/okta-openapi/management-api.yaml). One simulator and one
hook receiver serve the whole module (a server per operation would be slow); every scenario works on
users and hooks it creates itself, so scenarios do not depend on each other.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import jwt
import pytest
import pytest_asyncio
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.server import BackgroundServer
from oktasim import OktaOrg, create_app, seed_demo_org
from oktasim._bodies import PROFILE_LENGTHS

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "okta-openapi"
TOKEN, NO_SCOPES_TOKEN = "00conformance", "00conformance-no-scopes"
MISSING = "00u0000nosuchthing00"
CLIENT_ID = "0oaconformance000000"
ERROR_PROPERTIES = {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}  # as Okta always sends them
# Where the spec's schema contradicts its own example of the answer, the example (what Okta sends) wins.
SCHEMA_CORRECTIONS = {
    ("expirePasswordWithTempPassword", "200"): {"$ref": "#/components/schemas/TempPassword"},  # example: tempPassword
}


@pytest.fixture(scope="session")
def spec(pytestconfig: pytest.Config) -> dict[str, Any]:
    """The parsed spec, kept in pytest's cache by the file's digest: parsing the YAML takes each
    xdist worker about 2.5 s."""
    text = (SPEC_DIR / "management-api.yaml").read_bytes()
    kept = pytestconfig.cache.mkdir("okta-openapi") / f"{hashlib.sha256(text).hexdigest()}.pickle"
    if kept.exists():
        return cast(dict[str, Any], pickle.loads(kept.read_bytes()))  # written below, by this suite
    parsed = yaml.load(text, Loader=yaml.CSafeLoader)
    partial = kept.with_suffix(f".{uuid.uuid4().hex}")  # workers may write it at once: whole or not at all
    partial.write_bytes(pickle.dumps(parsed))
    partial.replace(kept)
    return cast(dict[str, Any], parsed)


# Implemented beyond OPERATIONS.md because the project's Okta client uses them.
EXTRA_OPERATIONS = [
    ("GET", "/api/v1/groups/{groupId}", "getGroup"),
    ("DELETE", "/api/v1/users/{userId}/factors/{factorId}", "unenrollFactor"),
]


def _listed_operations() -> list[tuple[str, str, str]]:
    """(METHOD, path template, operationId) for each row of OPERATIONS.md."""
    text = (SPEC_DIR / "OPERATIONS.md").read_text()
    rows = re.findall(r"^\| (GET|POST|PUT|DELETE) \| (\S+) \| (\w+) \|", text, re.MULTILINE)
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


def _documented_properties(spec: dict[str, Any], schema: dict[str, Any]) -> set[str] | None:
    """The properties an object schema documents (through $ref and allOf); None when it admits any."""
    schema = _resolve(spec, schema)
    if schema.get("additionalProperties") not in (None, False) or "discriminator" in schema:
        return None
    names = set(schema.get("properties") or {})
    for part in schema.get("allOf") or []:
        more = _documented_properties(spec, part)
        if more is None:
            return None
        names |= more
    return names or None


def _undocumented(spec: dict[str, Any], schema: dict[str, Any], body: Any) -> list[str]:
    """Top-level properties of the body (of each item, for an array) that the schema does not document."""
    target = _resolve(spec, schema)
    item_schema, items = (target["items"], body) if target.get("type") == "array" else (schema, [body])
    documented = _documented_properties(spec, item_schema)
    if documented is None:
        return []
    return sorted({key for item in items if isinstance(item, dict) for key in item if key not in documented})


def check_headers(response: httpx.Response) -> None:
    """What Okta sends with every answer: a request id and the X-Rate-Limit-* values of the counting bucket."""
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert response.headers.get("x-okta-request-id"), where
    limit, remaining, reset = (int(response.headers[f"x-rate-limit-{h}"]) for h in ("limit", "remaining", "reset"))
    assert 0 <= remaining <= limit and reset >= int(time.time()) - 1, where


def check_error_body(response: httpx.Response) -> dict[str, Any]:
    """Okta's Error body: all five properties; a validation failure says what failed in errorCauses."""
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_PROPERTIES, response.text
    assert body["errorLink"] == body["errorCode"] and body["errorId"] and body["errorSummary"], response.text
    assert all(set(cause) == {"errorSummary"} and cause["errorSummary"] for cause in body["errorCauses"])
    if body["errorCode"] == "E0000001":
        assert body["errorCauses"], f"a validation failure names its causes: {response.text}"
    return body


def check(spec: dict[str, Any], method: str, template: str, response: httpx.Response) -> None:
    operation = spec["paths"][template][method.lower()]
    listed = operation["responses"]
    status = str(response.status_code)
    assert status in listed, (
        f"{operation['operationId']} answered {status}; the spec lists {sorted(listed)}: {response.text}"
    )
    check_headers(response)
    content = _resolve(spec, listed[status]).get("content") or {}
    if "application/json" not in content:
        assert response.content == b"", f"{operation['operationId']} {status} has no body in the spec"
        return
    schema = SCHEMA_CORRECTIONS.get((operation["operationId"], status), content["application/json"]["schema"])
    errors = _schema_errors(spec, schema, response.json())
    if response.is_error:
        check_error_body(response)
    else:
        errors += [f"{name}: not in the spec's schema" for name in _undocumented(spec, schema, response.json())]
    assert not errors, f"{operation['operationId']} {status} does not match the spec:\n" + "\n".join(errors)


def check_refusal(spec: dict[str, Any], response: httpx.Response, status: int, code: str, component: str) -> None:
    """A refusal the spec describes once, in components/responses, rather than per operation (e.g. 401)."""
    assert response.status_code == status, response.text
    check_headers(response)
    schema = _resolve(spec, spec["components"]["responses"][component])["content"]["application/json"]["schema"]
    assert not _schema_errors(spec, schema, response.json())
    assert check_error_body(response)["errorCode"] == code, response.text


@dataclass
class Env:
    org: OktaOrg
    api: httpx.AsyncClient
    anonymous: httpx.AsyncClient  # sends no credentials
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
        httpx.AsyncClient(base_url=sim.url) as anonymous,
    ):
        yield Env(org, api, anonymous, f"{hooks.url}/hook", f"{hooks.url}/nothing-here")


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


async def _unenroll_factor(env: Env) -> list[httpx.Response]:
    user_id = env.user()
    push, sms = env.org.enroll_factor(user_id, "push"), env.org.enroll_factor(user_id, "sms")
    totp = env.org.enroll_factor(user_id, "token:software:totp", provider="OKTA")
    gone_id = env.user("DEPROVISIONED")
    gone = env.org.enroll_factor(gone_id, "sms")
    url = "/api/v1/users/{}/factors/{}"
    answers = [
        await env.api.delete(url.format(user_id, push.id)),
        await env.api.delete(url.format(user_id, totp.id)),  # went with push: Okta Verify's own totp
        await env.api.delete(url.format(user_id, sms.id)),
        await env.api.delete(url.format(gone_id, gone.id)),  # never from a deactivated user
        await env.api.delete(url.format(MISSING, sms.id)),
    ]
    assert [a.status_code for a in answers] == [204, 404, 204, 403, 404]
    return answers


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
    "unenrollFactor": _unenroll_factor,
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
    path = template.format_map(placeholders)
    body = {} if method in ("POST", "PUT") else None
    forbidden = await env.api.request(method, path, json=body, headers={"Authorization": f"SSWS {NO_SCOPES_TOKEN}"})
    assert forbidden.status_code == 403
    assert check_error_body(forbidden)["errorCode"] == "E0000006"
    for response in [*answers, forbidden]:
        check(spec, method, template, response)
    # A token Okta does not know, or none, is refused with 401 before anything else (the spec describes
    # this answer once, in components/responses, not per operation).
    for authorization in ("SSWS 00nosuchtoken", "Bearer not-an-access-token", None):
        headers = {"Authorization": authorization} if authorization else {}
        unknown = await env.anonymous.request(method, path, json=body, headers=headers)
        check_refusal(spec, unknown, 401, "E0000011", "ErrorInvalidToken401")


async def _existing(env: Env, template: str) -> str:
    """The template's path with ids of objects that exist (a fresh user, a fresh event hook)."""
    ids = {"id": env.user(), "userId": env.user(), "eventHookId": await env.hook()}
    return template.format_map(ids)


# The listed operations whose request body the spec requires (test_body_operations_are_the_specs keeps this true).
TAKE_A_BODY = {
    "createEventHook", "replaceEventHook", "addGroup", "createUser", "updateUser", "replaceUser", "enrollFactor"
}
BODY_OPERATIONS = [row for row in _listed_operations() if row[2] in TAKE_A_BODY]


def test_body_operations_are_the_specs(spec: dict[str, Any]) -> None:
    required = {
        operation_id
        for method, template, operation_id in _listed_operations()
        if spec["paths"][template][method.lower()].get("requestBody", {}).get("required")
    }
    assert required == TAKE_A_BODY


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("method", "template", "operation_id"), BODY_OPERATIONS, ids=lambda value: str(value))
async def test_a_body_that_does_not_parse_is_refused(
    method: str, template: str, operation_id: str, env: Env, spec: dict[str, Any]
) -> None:
    path = await _existing(env, template)
    headers = {"Content-Type": "application/json"}
    response = await env.api.request(method, path, content=b'{"profile": {"login": ', headers=headers)
    check(spec, method, template, response)
    body = response.json()
    assert (response.status_code, body["errorCode"], body["errorCauses"]) == (400, "E0000003", []), operation_id


def test_profile_lengths_are_the_specs(spec: dict[str, Any]) -> None:
    """The simulator's attribute lengths are exactly the minLength/maxLength the spec gives UserProfile."""
    properties = spec["components"]["schemas"]["UserProfile"]["properties"]
    from_spec = {
        name: (prop.get("minLength", 0), prop["maxLength"]) for name, prop in properties.items() if "maxLength" in prop
    }
    # The spec's login has "maxLength: 100" indented into its description (a typo there), so it is read from that.
    assert "maxLength" not in properties["login"] and properties["login"]["description"].endswith("maxLength: 100")
    from_spec["login"] = (properties["login"]["minLength"], 100)
    assert PROFILE_LENGTHS == from_spec


# The token endpoint (the org authorization server; not part of the management spec): OAuth 2.0 error
# answers (RFC 6749 section 5.2) with Okta's descriptions, never cached, counted in their own bucket.


@pytest.fixture(scope="module")
def client_key(env: Env) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    env.org.register_oauth_client(CLIENT_ID, public.decode(), scopes={"okta.users.read"})
    return key


def _assertion(env: Env, key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(env.org.clock.time())
    token_url = f"{env.api.base_url}/oauth2/v1/token"
    defaults = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": token_url, "iat": now, "exp": now + 300}
    return jwt.encode({**defaults, "jti": str(uuid.uuid4()), **claims}, key, algorithm="RS256")


async def _token(env: Env, assertion: str, scope: str = "okta.users.read") -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    return await env.anonymous.post("/oauth2/v1/token", data=form)


def check_oauth_error(response: httpx.Response, status: int, error: str, description: str) -> None:
    assert (response.status_code, response.json()) == (status, {"error": error, "error_description": description})
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    check_headers(response)
    assert response.headers["x-rate-limit-limit"] == "2000", "the org authorization server's bucket"


@pytest.mark.asyncio(loop_scope="module")
async def test_token_endpoint_errors(env: Env, client_key: rsa.RSAPrivateKey) -> None:
    granted = await _token(env, _assertion(env, client_key))
    assert granted.status_code == 200 and granted.json()["token_type"] == "Bearer"
    check_headers(granted)
    now = int(env.org.clock.time())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = [
        (
            _assertion(env, client_key, iss="0oanosuchclient00000", sub="0oanosuchclient00000"),
            "okta.users.read",
            (401, "invalid_client", "The issuer claim for client_assertion is not a valid client_id."),
        ),
        (
            _assertion(env, stranger),
            "okta.users.read",
            (401, "invalid_client", "The client_assertion signature is invalid."),
        ),
        (
            _assertion(env, client_key, iat=now - 600, exp=now - 1),
            "okta.users.read",
            (401, "invalid_client", "The client_assertion token is expired."),
        ),
        (
            _assertion(env, client_key),
            "okta.users.read okta.users.manage",
            (400, "invalid_scope", "The following scopes are not allowed for this request: [okta.users.manage]."),
        ),
    ]
    for assertion, scope, expected in cases:
        check_oauth_error(await _token(env, assertion, scope), *expected)

    once = _assertion(env, client_key)
    assert (await _token(env, once)).status_code == 200
    replayed = await _token(env, once)
    check_oauth_error(replayed, 401, "invalid_client", "The client_assertion token has already been used.")

    token = granted.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await env.anonymous.get("/api/v1/users/erin.employee", headers=bearer)).status_code == 200
    refused = await env.anonymous.get("/api/v1/groups", headers=bearer)
    assert refused.status_code == 403 and check_error_body(refused)["errorCode"] == "E0000006"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
