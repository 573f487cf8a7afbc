"""The one Slack port: every Web API call the bot makes (commands, approvals, alerts) goes through
`SlackPort`, which paces per channel, honours Retry-After, serves people before channels, and
raises only `SlackError`. `slackport.blockkit` builds messages within Slack's limits.

Above this package nothing imports slack_sdk's Web API client or its errors (an import-linter
contract); Block Kit's models (`slack_sdk.models`) are used wherever messages are composed.
"""

from slackport._errors import SlackError
from slackport._models import Posted, Priority, Reply, Responder, SlackPerson
from slackport._port import SlackPort

__all__ = ["Posted", "Priority", "Reply", "Responder", "SlackError", "SlackPerson", "SlackPort"]
