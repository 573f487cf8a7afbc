"""/metrics over real HTTP: names, labels and values after the bot's counters move.

The registry is process-wide, so each test compares a scrape before and after what it does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from alerts import stages
from approvals.models import ApprovalState
from bot.metrics import (
    ACK_SECONDS,
    APPROVAL_TRANSITIONS,
    COMMAND_SECONDS,
    COMMANDS,
    HOOK_EVENTS,
    count_hook_events,
    instrument_okta_http,
    metrics_route,
    observe_okta,
)
from bot.server import BackgroundServer
from oktaclient import OktaClient
from tests.conftest import SIM_API_TOKEN

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def scrape() -> AsyncIterator:  # type: ignore[type-arg]
    """`await scrape()`: every sample /metrics serves, keyed by (name, labels)."""
    async with BackgroundServer(Starlette(routes=[metrics_route()])) as server, httpx.AsyncClient() as http:

        async def get() -> Samples:
            response = await http.get(f"{server.url}/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"] == CONTENT_TYPE_LATEST
            return {
                (s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(response.text)
                for s in family.samples
            }

        yield get


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


async def test_counters_and_histograms_appear_with_their_labels(scrape) -> None:  # type: ignore[no-untyped-def]
    before = await scrape()
    COMMANDS.labels(verb="unlock", outcome="ok").inc()
    APPROVAL_TRANSITIONS.labels(state="APPROVED").inc()
    HOOK_EVENTS.labels(stage="deduplicated").inc(2)
    COMMAND_SECONDS.labels(verb="unlock").observe(0.3)
    ACK_SECONDS.observe(0.02)
    after = await scrape()

    def moved(name: str, key: frozenset[tuple[str, str]] = frozenset()) -> float:
        return after[(name, key)] - before.get((name, key), 0.0)

    assert moved("okc_commands_total", labels(verb="unlock", outcome="ok")) == 1
    assert moved("okc_approval_transitions_total", labels(state="APPROVED")) == 1
    assert moved("okc_hook_events_total", labels(stage="deduplicated")) == 2
    assert moved("okc_command_seconds_count", labels(verb="unlock")) == 1
    assert moved("okc_command_seconds_bucket", labels(verb="unlock", le="0.5")) == 1
    assert moved("okc_command_seconds_bucket", labels(verb="unlock", le="0.25")) == 0
    assert moved("okc_slack_ack_seconds_bucket", labels(le="0.05")) == 1


async def test_known_label_values_are_served_from_the_start(scrape) -> None:  # type: ignore[no-untyped-def]
    samples = await scrape()
    for stage in ("received", "posted", "deduplicated", "dropped", "digested"):
        assert ("okc_hook_events_total", labels(stage=stage)) in samples
    for state in ApprovalState:
        assert ("okc_approval_transitions_total", labels(state=state.value)) in samples


async def test_the_alert_pipeline_stage_counts_reach_the_hook_counter(scrape) -> None:  # type: ignore[no-untyped-def]
    posted = ("okc_hook_events_total", labels(stage="posted"))
    before = await scrape()
    stop = count_hook_events()
    try:
        stages.count(stages.Stage.POSTED, 3)
    finally:
        stop()
    stages.count(stages.Stage.POSTED)  # no longer counted
    assert (await scrape())[posted] - before[posted] == 3


async def test_okta_rate_limits_and_latency_come_from_the_live_client(scrape, okta_sim, okta_org) -> None:  # type: ignore[no-untyped-def]
    okta_org.set_rate_limit(50, 60, bucket="GET /api/v1/users/{idOrLogin}")  # Okta's name, the simulator's too
    bucket = labels(bucket="GET /api/v1/users/{idOrLogin}")  # Okta's documented name, which the client reports
    before = await scrape()
    async with httpx.AsyncClient() as http:
        client = OktaClient.from_api_token(okta_sim.url, SIM_API_TOKEN, http=instrument_okta_http(http))
        stop = observe_okta(client)
        try:
            await client.get_user("erin.employee@acme.example")
            await client.get_user("erin.employee@acme.example")
            during = await scrape()
        finally:
            stop()
    after = await scrape()

    assert during[("okc_okta_rate_limit_remaining", bucket)] == 48
    assert during[("okc_okta_rate_limit_limit", bucket)] == 50
    get = labels(method="GET")
    assert during[("okc_okta_request_seconds_count", get)] - before.get(("okc_okta_request_seconds_count", get), 0) == 2
    assert ("okc_okta_rate_limit_remaining", bucket) not in after  # the client is no longer observed


async def test_only_get_is_served() -> None:
    async with BackgroundServer(Starlette(routes=[metrics_route()])) as server, httpx.AsyncClient() as http:
        assert (await http.post(f"{server.url}/metrics")).status_code == 405


async def test_commands_and_approvals_are_counted_as_they_happen(chatops) -> None:  # type: ignore[no-untyped-def]
    from bot.metrics import REGISTRY
    from tests.chatops_support import HANA

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    unlocked = value("okc_commands_total", verb="unlock", outcome="succeeded")
    pending = value("okc_approval_transitions_total", state="PENDING")
    timed = value("okc_command_seconds_count", verb="unlock")
    await chatops.command(HANA, "unlock lee.locked@acme.example")
    await chatops.reply_to(HANA, lambda m: "unlocked" in m.text)
    assert value("okc_commands_total", verb="unlock", outcome="succeeded") == unlocked + 1

    await chatops.command(HANA, "suspend alex.kim@acme.example")
    opened = await chatops.ws.wait_for(lambda c: c.method == "views.open" and c.ok)
    await chatops.ws.send(chatops.url, chatops.ws.view_submission(HANA, chatops.ws.view(opened.result["view"]["id"])))
    await chatops.ws.wait_for_message(lambda m: m.channel == chatops.ws.channel_id("approvals"))
    assert value("okc_approval_transitions_total", state="PENDING") == pending + 1
    # observed when the unlock's handler returned, just after its reply (long done by now)
    assert value("okc_command_seconds_count", verb="unlock") == timed + 1
