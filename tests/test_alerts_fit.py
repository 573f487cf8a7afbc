"""Alert messages as Slack takes them: for any event Okta could send, with fields as long and as odd as
they come, the message, its plain-text fallback and a digest are accepted when posted to the Slack
stand-in over HTTP through the Slack port (the stand-in refuses what Slack refuses: msg_too_long,
invalid_blocks, invalid_metadata_format), so no alert is ever dead-lettered for its content.

The events are tests/test_blockkit_properties.py's (every Okta string up to 2,100 characters, made of
what escaping grows), with the uuid, which the message metadata carries, as hostile as the rest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.format import AlertKind, DigestSummary, render_digest, render_event
from alerts.sink import message_metadata
from oktaclient.models import LogEvent
from slackport import SlackPort
from slacksim import SlackWorkspace
from tests.alerts_support import ALERTS, ORG_URL, slack_stand_in
from tests.conftest import examples
from tests.test_blockkit_properties import events, okta_text, rows

# The stand-in is started once per test, not per example: each example posts messages of its own.
EXAMPLES = settings(
    max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
MOMENT = datetime(2026, 3, 3, 9, 15, tzinfo=UTC)
hostile_events = st.builds(lambda e, uuid: e.model_copy(update={"uuid": uuid}), events, okta_text(2100, 1))

Slack = tuple[SlackWorkspace, SlackPort]


@pytest.fixture
async def slack() -> AsyncIterator[Slack]:
    async with slack_stand_in() as (ws, client):
        yield ws, SlackPort(client, pacing_s=0)


@EXAMPLES
@given(event=hostile_events)
async def test_any_event_is_posted_as_rendered_and_as_plain_text(slack: Slack, event: LogEvent) -> None:
    ws, port = slack
    message = render_event(event, ORG_URL)
    rich = await port.post(ALERTS, message.reply, metadata=message_metadata(event.uuid))
    plain = await port.post(ALERTS, message.plain, metadata=message_metadata(event.uuid))
    shown = {m.ts: m for m in ws.messages(ALERTS)}
    assert shown[rich.ts].blocks and shown[rich.ts].metadata == message_metadata(event.uuid)
    assert not shown[plain.ts].blocks and shown[plain.ts].text == message.plain.text


@EXAMPLES
@given(kind=st.sampled_from(list(AlertKind)), by_actor=rows, by_ip=rows, count=st.integers(1, 10**9))
async def test_any_digest_is_posted_and_updated(
    slack: Slack, kind: AlertKind, by_actor: list[tuple[str, int]], by_ip: list[tuple[str, int]], count: int
) -> None:
    ws, port = slack
    digest = render_digest(DigestSummary(kind, count, MOMENT, MOMENT, by_actor, by_ip, 20))
    posted = await port.post(ALERTS, digest.reply, metadata=message_metadata("digest:x"))
    await port.update(posted.channel, posted.ts, digest.plain)
    await port.update(posted.channel, posted.ts, digest.reply)
    [shown] = [m for m in ws.messages(ALERTS) if m.ts == posted.ts]
    assert shown.edit_count == 2 and shown.blocks and shown.text == digest.reply.text
