""" "Was this you?" when a replica dies midway: while the question's DM is being sent, or inside a
containment step's Okta call. The dying replica is a flow whose Slack or Okta client gives up
before the stand-in answers (which carries the call out all the same); another replica's sweeper
takes the question over once its lease runs out, on the test's clock."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from confirm.store import State
from oktaclient import OktaClient, OktaTransportError
from oktaclient.models import LogEvent, UserStatus
from policy import Policy, load_policy
from slackport import SlackError, SlackPort
from tests.chatops_support import ERIN, EXAMPLE_POLICY
from tests.conftest import SIM_API_TOKEN
from tests.helpdesk_support import audit_trail, audited, buttons, mrkdwn
from tests.wasthisyou_support import ERIN_LOGIN, Scene, factor_enrolled, scene

__all__ = ["scene"]  # the fixture
LEASE_S = 60


def questions_sent(scene: Scene, user_id: str) -> int:
    """The questions posted to the user's DM, by its id or the user's (whatever became of them since)."""
    ws = scene.chatops.ws
    return len([
        c for c in ws.calls
        if c.method == "chat.postMessage" and ws.channel_id(str(c.args.get("channel"))) == ws.dm_channel_id(user_id)
        and "Was this you?" in str(c.args.get("text"))
    ])  # fmt: skip


def impatient_slack(scene: Scene) -> SlackPort:
    """A Slack port whose client stops waiting after 0.2 s: a replica dying while Slack answers."""
    ws = scene.chatops.ws
    assert ws.base_url is not None
    client = AsyncWebClient(token=ws.bot_token, base_url=f"{ws.base_url}/api/", timeout=0.2)
    return SlackPort(client, pacing_s=0)


def event_of(raw: dict[str, object]) -> LogEvent:
    return LogEvent.model_validate(raw)


@pytest.mark.parametrize("clicked_before_takeover", [False, True])
async def test_a_dm_sent_by_a_replica_that_died_before_recording_it_is_not_sent_again(
    scene: Scene, clicked_before_takeover: bool
) -> None:
    chatops, ws, org = scene.chatops, scene.chatops.ws, scene.org
    erin = org.get_user(ERIN_LOGIN)
    ws.fail_next("chat.postMessage", delay=0.5, channel=ws.dm_channel_id(ERIN))  # posted, answered too late
    dying = scene.flow(slack=impatient_slack(scene))
    with pytest.raises(SlackError) as raised:
        await dying.on_event(event_of(factor_enrolled(org)))
    assert not raised.value.certain
    dm = await ws.wait_for_message(lambda m: m.channel == ws.dm_channel_id(ERIN) and "Was this you?" in m.text)
    if clicked_before_takeover:  # the employee is faster than the lease: the question is open all the same
        await scene.click(ERIN, "wty:no", dm)
        await ws.wait_for_message(lambda m: m.channel == ws.dm_channel_id(ERIN) and "What to do now" in mrkdwn(m))
        assert scene.session_clears(erin.id) == 1
    scene.clock.advance(LEASE_S + 1)
    taker = scene.flow()
    await taker.sweep_once()
    assert questions_sent(scene, ERIN) == 1, "at most one DM per question"
    if not clicked_before_takeover:
        record = await audited(chatops, verb="was-this-you", outcome="asked", target=ERIN_LOGIN)
        assert "may not have reached them" in record.detail
        await scene.click(ERIN, "wty:no", dm)
        await scene.incident(lambda m: "wasn't them" in mrkdwn(m))
        assert scene.session_clears(erin.id) == 1
    assert questions_sent(scene, ERIN) == 1


def containing(tmp_path: Path, steps: list[str]) -> Policy:
    raw = yaml.safe_load(EXAMPLE_POLICY.read_text())
    raw["was_this_you"]["containment"] = steps
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_policy(path)


async def test_a_containment_step_interrupted_inside_okta_is_settled_from_okta_not_repeated(
    scene: Scene, tmp_path: Path
) -> None:
    chatops, org = scene.chatops, scene.org
    erin = org.get_user(ERIN_LOGIN)
    policy = containing(tmp_path, ["suspend", "clear_sessions"])
    suspend = f"/api/v1/users/{erin.id}/lifecycle/suspend"
    org.inject_delay("POST", suspend, 1.0)  # carried out, answered after the replica has given up
    async with OktaClient.from_api_token(scene.okta.org_url, SIM_API_TOKEN, timeout=0.2, max_retries=0) as impatient:
        dying = scene.flow(policy, okta=impatient)
        reported = scene.report()
        with pytest.raises(OktaTransportError):
            await dying.on_event(event_of(reported))
    assert erin.status is UserStatus.SUSPENDED and scene.session_clears(erin.id) == 0, "died midway"
    taker = scene.flow(policy)
    assert await taker.sweep_once() == 0, "the lease still holds"
    scene.clock.advance(LEASE_S + 1)
    assert await taker.sweep_once() == 1
    incident = await scene.incident(lambda m: "reported suspicious activity" in mrkdwn(m))
    assert "account suspended" in mrkdwn(incident) and "signed out everywhere" in mrkdwn(incident)
    assert len([r for r in org.requests if r.method == "POST" and r.path == suspend]) == 1, "not suspended twice"
    assert scene.session_clears(erin.id) == 1
    [qid] = {b["value"] for b in buttons(incident).values()}
    q = await taker.store.get(qid)
    assert q is not None and q.state is State.CONTAINED and q.steps == {"suspend": "ok", "clear_sessions": "ok"}
    records = [(r.verb, r.outcome) for r in await audit_trail(chatops)]
    assert records.count(("suspend", "succeeded")) == 1 and records.count(("clear-sessions", "succeeded")) == 1
