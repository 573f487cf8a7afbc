"""Okta org simulator: a stand-in for a real Okta org's Management API, served over real HTTP.

    org = seed_demo_org()                 # the deterministic demo org (seed_demo_org(seed=..., users=N))
    org.add_api_token("token")            # SSWS, every scope; add_api_token(tok, scopes={...}) restricts it
    app = create_app(org)                 # a Starlette app: async with BackgroundServer(app) as srv: srv.url

Same paths, status codes, JSON shapes, headers (X-Okta-Request-Id, X-Rate-Limit-*, Link) and error
bodies as Okta for the operations in ../shared/okta-openapi/OPERATIONS.md (plus getGroup), checked
against Okta's OpenAPI spec by tests/test_spec_conformance.py.

Rate limits are Okta's own by default (per-minute buckets, the cumulative limit, 75 requests in flight;
the table and its sources are in oktasim/_ratelimit.py), so clients must pace themselves as with Okta.

Knobs: register_oauth_client(client_id, public key PEM or JWK(s) with kid and status, scopes) and access_token_ttl (the client
credentials grant at /oauth2/v1/token), set_rate_limit(limit, window_seconds, bucket=None) (Okta's bucket
names), set_concurrency_limit(n), inject_failure(method, path_prefix, status=500, times=1),
inject_delay(method, path_prefix, seconds, times=1), advance_time(seconds) (the org's clock, instead of
sleeping), transition_seconds (how long activation and deactivation take), hook_timeout, valid_passcode.

State set-up (silent): add_user, get_user (id, login or shortname), add_group, get_group, add_member,
enroll_factor. Scenarios (write System Log events, which event hooks deliver): lock_out, fail_sign_ins,
sign_in, record_event, answer_push(transaction id, user id or login, "SUCCESS"|"REJECTED"|"TIMEOUT"), push_bomb(user, count).
Observation: log_events, requests (method, path, raw query), token_requests, hook_deliveries, in_flight,
peak_in_flight, and `await hooks_idle()` / `await redeliver_last()` / `await until_in_flight(n)`.
"""

from oktasim._app import create_app
from oktasim._auth import TokenRequest
from oktasim._errors import OktaError
from oktasim._hooks import HookDelivery
from oktasim._org import OktaOrg, RecordedRequest
from oktasim._records import Factor, Group, User
from oktasim._seed import seed_demo_org

__all__ = [
    "Factor",
    "Group",
    "HookDelivery",
    "OktaError",
    "OktaOrg",
    "RecordedRequest",
    "TokenRequest",
    "User",
    "create_app",
    "seed_demo_org",
]
