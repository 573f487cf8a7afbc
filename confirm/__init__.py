""" "Was this you?": risky Okta events on an account are put to its owner by DM; "No" contains at
once and opens an incident for the security role; silence escalates. See docs/policy.md
(`was_this_you`).

    flow = WasThisYouFlow(redis, okta, slack_port, policy, identities, recorder, org_url=org_url)
    async with WasThisYouService(redis, flow, consumer_name=host):   # its consumer group + sweeper
        ...
    await flow.click(invocation, action_id, question_id)              # the DM's and incident's buttons

Modules: signals (what is worth asking), store (the questions' state machine in Redis), flow (the
work of each state), messages (Block Kit), consumer (the alert stream), service, observe (metrics).
"""

from confirm.flow import WasThisYouFlow
from confirm.messages import ACTION_PREFIX, ACTIONS
from confirm.service import WasThisYouService
from confirm.signals import EVENT_TYPES, Signal

__all__ = ["ACTIONS", "ACTION_PREFIX", "EVENT_TYPES", "Signal", "WasThisYouFlow", "WasThisYouService"]
