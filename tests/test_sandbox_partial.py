"""A partial configuration: a real Okta org but no Slack app yet. The first lines say which parts are
real, and the console stands in for Slack against the real org (here: the simulator playing a real org)."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.server import BackgroundServer
from oktasim import OktaOrg
from tests.chatops_support import HANA
from tests.conftest import SIM_API_TOKEN
from tests.process_support import serve_process

HELPDESK = "C0HELPDESK1"


async def test_real_okta_with_the_console_standing_in_for_slack(
    okta_org: OktaOrg, okta_sim: BackgroundServer, redis_url: str, tmp_path: Path
) -> None:
    env = {"OKTA_ORG_URL": okta_sim.url, "OKTA_API_TOKEN": SIM_API_TOKEN, "REDIS_URL": redis_url}
    printed: list[str] = []
    async with (
        serve_process(env, tmp_path, output=printed) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        banner = "".join(printed)
        assert "sandbox listening on" in banner
        assert f"Okta:    real ({okta_sim.url})" in banner
        assert "Slack:   simulated" in banner and "Redis:   real" in banner and "Console: " in banner

        assert (await http.get("/")).status_code == 200
        directory = (await http.get("/console/api/people")).json()
        assert HANA in {p["id"] for p in directory["people"]}
        assert directory["simulate"] is False  # the panel that drives the simulated org is hidden

        async with http.stream("GET", "/console/api/stream", params={"user": HANA}) as stream:
            lines = stream.aiter_lines()
            command = {"user": HANA, "channel": HELPDESK, "text": "/okta unlock lee.locked@acme.example"}
            assert (await http.post("/console/api/command", json=command)).status_code == 200
            async for _ in lines:  # each change Hana can see; the stream ends by itself after a few seconds
                if okta_org.get_user("lee.locked@acme.example").status == "ACTIVE":
                    break
    assert okta_org.get_user("lee.locked@acme.example").status == "ACTIVE"
    assert any("/lifecycle/unlock" in r.path for r in okta_org.requests)
