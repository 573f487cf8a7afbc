"""Slack stand-ins: a fake Slack Web API that records every call, and requests built as Slack sends them.

    ws = demo_workspace()                  # Acme's users, usergroups and channels (emails match oktasim)
    app = create_app(ws)                   # Starlette: Web API at /api/{method}, response_urls at /response/{id}
    async with BackgroundServer(app) as srv:
        ws.base_url = srv.url              # where response_urls point (also learned from the first call)
        client = AsyncWebClient(token=ws.bot_token, base_url=f"{srv.url}/api/")
        await ws.send(bot_url, ws.slash_command("U0HANA00001", "unlock lee.locked@acme.example"))
        call = await ws.wait_for(lambda c: c.method == "chat.postMessage")

Socket Mode: the app opens a connection with ws.app_token (apps.connections.open); then
    await ws.socket_connected(); ack = await ws.send_socket(ws.slash_command(...))

Events API with Slack's redelivery: attempts = await ws.deliver_event(bot_url, ws.event(...)).

State: ws.calls, ws.messages(channel), ws.dms(user), ws.ephemerals(user), ws.views, ws.home(user),
ws.responses. Knobs: ws.fail_next(...) (429, 5xx, errors, delays), ws.trigger_ttl, ws.clock.advance(s),
ws.rate_limits.enabled (on by default, as on Slack), ws.socket_disconnect(reason). Changes: ws.subscribe().
Every message and view is checked against Slack's limits (BLOCK_KIT_LIMITS, one table) and refused
as Slack refuses it; CHECKED_PAYLOADS counts the checks in this process.
Everything runs on the event loop that serves the app.
"""

from slacksim._blocks import CHECKED as CHECKED_PAYLOADS
from slacksim._blocks import message_problems, view_problems
from slacksim._clock import Clock
from slacksim._demo import demo_workspace
from slacksim._limits import BLOCK_KIT_LIMITS
from slacksim._models import (
    ChangeEvent,
    Message,
    RecordedCall,
    ResponsePost,
    SlackChannel,
    SlackProfile,
    SlackUser,
    SlackView,
    Usergroup,
)
from slacksim._ratelimits import METHOD_ALLOWANCES, Allowance
from slacksim._requests import DeliveryAttempt, SlackRequest
from slacksim._signing import SlackSigner
from slacksim._webapi import create_app
from slacksim._workspace import SlackWorkspace

__all__ = [
    "BLOCK_KIT_LIMITS",
    "CHECKED_PAYLOADS",
    "METHOD_ALLOWANCES",
    "Allowance",
    "ChangeEvent",
    "Clock",
    "DeliveryAttempt",
    "Message",
    "RecordedCall",
    "ResponsePost",
    "SlackChannel",
    "SlackProfile",
    "SlackRequest",
    "SlackSigner",
    "SlackUser",
    "SlackView",
    "SlackWorkspace",
    "Usergroup",
    "create_app",
    "demo_workspace",
    "message_problems",
    "view_problems",
]
