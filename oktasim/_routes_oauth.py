"""/oauth2/v1/token: the org authorization server's token endpoint (client credentials, private_key_jwt)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oktasim._auth import OAuthError
from oktasim._http import base_url
from oktasim._org import OktaOrg

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def token(request: Request) -> Response:
    org: OktaOrg = request.app.state.org
    # The form is parsed by hand: it is always application/x-www-form-urlencoded here.
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    try:
        body = org.credentials.issue(form, f"{base_url(request)}/oauth2/v1/token")
    except OAuthError as error:
        return JSONResponse(error.body(), status_code=error.status, headers=_NO_STORE)
    return JSONResponse(body, headers=_NO_STORE)


ROUTES = [Route("/oauth2/v1/token", token, methods=["POST"])]
