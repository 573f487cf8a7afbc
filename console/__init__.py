"""The sandbox console: a web page that stands in for Slack's client in front of the Slack stand-in.

    app = create_console_app(ws, okta_org)   # Starlette; mount it at "/" on the bot's own server

Pick who you are, type `/okta ...`, click what the bot posts, fill in its modals: each action reaches
the bot as the signed request Slack would send (to /slack/events on the same server, unless told
otherwise), and the page follows the workspace live. A "simulate" panel makes the simulated Okta org
lock people out, suffer sign-in bursts and answer Okta Verify pushes. The console has no login: it
exists only in the sandbox, where Slack and Okta are both stand-ins (bot/serve.py).
"""

from console.app import create_console_app

__all__ = ["create_console_app"]
