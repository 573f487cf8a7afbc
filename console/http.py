"""The console's POST endpoints share one shape: a JSON body checked by a pydantic model, and
refusals the page can show as they are: 400 for a malformed body, 404 for someone or something
that does not exist, 409 for a scene that cannot happen (a button that is no longer on screen, a
required field left empty, an account Okta will not lock)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, get_type_hints

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

JSONHandler = Callable[[Any, Request], Awaitable[Response | dict[str, Any]]]


def json_route(path: str, handler: JSONHandler) -> Route:
    """POST `path`: the body parsed into the model `handler`'s first parameter is annotated with;
    a dict it returns is answered as `{"ok": true, ...}`."""
    model: type[BaseModel] = next(iter(get_type_hints(handler).values()))

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(model.model_validate_json(await request.body()), request)
        except ValidationError as exc:
            return refusal(400, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        except KeyError as exc:
            return refusal(404, str(exc.args[0]))
        except ValueError as exc:
            return refusal(409, str(exc))
        return result if isinstance(result, Response) else JSONResponse({"ok": True, **result})

    return Route(path, endpoint, methods=["POST"])


def refusal(status: int, error: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=status)
