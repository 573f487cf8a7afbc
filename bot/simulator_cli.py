"""`okta-chatops okta-sim`: serve the Okta org simulator (seeded demo org) on its own.

`--service-app-key` registers an API service app (client credentials, private_key_jwt) with the public
keys `okta-chatops okta keygen` / `okta jwks` printed, as an admin would add them in Okta's Admin
Console, and prints the client id Okta would show; `docs/deploy.md` can so be rehearsed end to end.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.server import BackgroundServer, stop_signals
from bot.settings import DEFAULT_OKTA_SCOPES

CLIENT_ID_PREFIX = "0oa"  # Okta's app ids


def register(sub: Any) -> None:
    sim = sub.add_parser("okta-sim", help="serve the Okta org simulator (seeded demo org) until stopped")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8081)
    sim.add_argument("--token", required=True, help="the SSWS API token clients must present")
    sim.add_argument(
        "--service-app-key",
        type=_public_keys,
        action="append",
        default=[],
        metavar="JWK_FILE",
        help="register an API service app with this public JWK (or JWKS) file; repeatable, for a rotation",
    )
    sim.add_argument(
        "--service-app-scopes",
        default=" ".join(DEFAULT_OKTA_SCOPES),
        help="the Okta API scopes granted to the service app (default: the bot's)",
    )
    sim.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    from oktasim import create_app, seed_demo_org

    stop = stop_signals()
    org = seed_demo_org()
    org.add_api_token(args.token)
    server = BackgroundServer(create_app(org), host=args.host, port=args.port, log_level="info")
    if args.service_app_key:
        client_id = org.ids.okta_id(CLIENT_ID_PREFIX)
        keys = [jwk for jwks in args.service_app_key for jwk in jwks]
        try:
            org.register_oauth_client(client_id, keys, args.service_app_scopes.replace(",", " ").split())
        except ValueError as exc:
            raise SystemExit(f"okta-chatops okta-sim: Okta would refuse these keys: {exc}") from None
        kids = ", ".join(str(jwk.get("kid")) for jwk in keys)
        print(f"Service app okta-chatops: client id {client_id} (keys {kids}; scopes {args.service_app_scopes})")
    print(f"Okta org simulator (demo org) listening on {server.url}", flush=True)
    await server.serve_until(stop)
    return 0


def _public_keys(path: str) -> list[dict[str, Any]]:
    """The JWKs in a file holding one JWK or a JWKS ({"keys": [...]})."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read a JWK from {path}: {exc}") from None
    keys = data.get("keys", [data]) if isinstance(data, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise argparse.ArgumentTypeError(f"{path} holds neither a JWK nor a JWKS")
    return keys
