"""The console's HTTP side: the page, the state of the workspace as one person sees it, the live
update stream, and what that person does, delivered to the bot as the signed request Slack sends.

Every action goes through `ws.send`: the bot cannot tell the console from Slack, and the console
has no other way into it.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from console import workspace
from console.http import json_route, refusal
from console.simulate import simulate_routes
from console.stream import ChangeStream
from oktasim import OktaOrg
from slacksim import Message, SlackRequest, SlackWorkspace

STATIC = Path(__file__).parent / "static"


class Command(BaseModel):
    user: str
    channel: str
    text: str  # as typed: "/okta lookup lee.locked@acme.example"


class Action(BaseModel):
    """A click or a pick on an element of a message (channel, ts, ephemeral) or of a view (view_id)."""

    user: str
    action_id: str
    block_id: str | None = None
    value: str | None = None
    channel: str | None = None
    ts: str | None = None
    ephemeral: bool = False
    view_id: str | None = None


class Submission(BaseModel):
    user: str
    view_id: str
    values: dict[str, dict[str, str]] = {}  # {block_id: {action_id: text or chosen option value}}


class Dismissal(BaseModel):
    user: str
    view_id: str


class HomeVisit(BaseModel):
    user: str


def create_console_app(
    ws: SlackWorkspace, okta: OktaOrg, *, bot_events_url: str | None = None, stream_seconds: float = 5.0
) -> Starlette:
    """The console for `ws`, with the simulate panel for the simulated org `okta` (the console exists
    only in the sandbox, where both are stand-ins); requests go to `bot_events_url`, by default
    /slack/events on the server this app is mounted on."""

    async def page(_: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def directory(_: Request) -> Response:
        """Who can be played, for the persona picker, and whether the org can be made to do things."""
        return JSONResponse(
            {
                "team": {"id": ws.team_id, "name": ws.team_name},
                "people": workspace.people(ws, okta),
            }
        )

    async def state(request: Request) -> Response:
        """Everything the person sees now: their channels and DM with the app, their modals and Home."""
        user_id = request.query_params.get("user", "")
        try:
            workspace.acting_user(ws, user_id)
        except KeyError as exc:
            return refusal(404, exc.args[0])
        return JSONResponse(
            {
                "user": user_id,
                "people": workspace.people(ws, okta),  # Okta statuses change as the bot works
                "channels": workspace.channels(ws, user_id),
                "modals": workspace.modals(ws, user_id),
                "home": workspace.home(ws, user_id),
            }
        )

    async def deliver(request: Request, slack_request: SlackRequest) -> Response:
        """POST the request to the bot as Slack does; what Slack would tell the person, if it fails."""
        url = bot_events_url or _events_url_here(request)
        try:
            response = await ws.send(url, slack_request)
        except httpx.TimeoutException:
            return refusal(504, "operation_timeout: the app did not answer within 3 seconds")
        except httpx.HTTPError as exc:
            return refusal(502, f"the app is unreachable at {url}: {type(exc).__name__}")
        if response.status_code != 200:
            return refusal(502, f"dispatch_failed: the app answered HTTP {response.status_code}")
        return JSONResponse({"ok": True})

    async def command(body: Command, request: Request) -> Response:
        name, _, text = body.text.strip().partition(" ")
        if not name.startswith("/"):
            raise ValueError("type a slash command, such as /okta help")
        # Slack sends command text with &, < and > escaped: a raw < would start markup such as <@U…>.
        escaped = text.strip().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return await deliver(request, ws.slash_command(body.user, escaped, command=name, channel=body.channel))

    async def action(body: Action, request: Request) -> Response:
        view = None if body.view_id is None else ws.view(body.view_id)
        message = None
        if body.channel is not None and body.ts is not None:
            # block_action looks the message up as it stands now: this only says which one
            ephemeral_to = body.user if body.ephemeral else None
            message = Message(channel=body.channel, ts=body.ts, user=ws.bot_user_id, ephemeral_to=ephemeral_to)
        clicked = ws.block_action(
            body.user, body.action_id, body.value, message=message, view=view, block_id=body.block_id
        )
        return await deliver(request, clicked)

    async def submit(body: Submission, request: Request) -> Response:
        view = workspace.open_modal(ws, body.user, body.view_id)
        return await deliver(request, ws.view_submission(body.user, view, body.values))

    async def close(body: Dismissal, request: Request) -> Response | dict[str, object]:
        view = workspace.open_modal(ws, body.user, body.view_id)
        if view.view.get("notify_on_close"):
            return await deliver(request, ws.view_closed(body.user, view))
        workspace.dismiss_modal(ws, view)
        return {}

    async def home(body: HomeVisit, request: Request) -> Response:
        workspace.acting_user(ws, body.user)
        return await deliver(request, ws.event(body.user, {"type": "app_home_opened"}))

    routes: list[BaseRoute] = [
        Route("/", page),
        Route("/console/api/people", directory),
        Route("/console/api/state", state),
        Route("/console/api/stream", ChangeStream(ws, stream_seconds)),
        json_route("/console/api/command", command),
        json_route("/console/api/action", action),
        json_route("/console/api/view/submit", submit),
        json_route("/console/api/view/close", close),
        json_route("/console/api/home", home),
        Mount("/console/static", StaticFiles(directory=STATIC)),
        *simulate_routes(okta),
    ]
    return Starlette(routes=routes)


def _events_url_here(request: Request) -> str:
    """/slack/events on the server that received `request`, at the address it listens on."""
    host, port = request.scope["server"]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/slack/events"
