"""Okta event hooks to Slack alerts: ingest into a Redis Stream, consumer-group workers, exactly-once
posting (ledger + message metadata), digests of bursts, Block Kit formatting, a System Log poller,
and a dead-letter stream for alerts Slack refuses for good (alerts/deadletters.py).

    routes += hook_routes(HookConfig(secret=...), redis)               # GET/POST /okta/hooks
    async with AlertService(redis, slack_port, policy, org_url=org_url, consumer_name=host):
        ...                                                             # workers post until the block exits
    stages.observe(lambda stage, n: ...)                                # counts per stage, for metrics

(AlertService runs AlertWorkers, e.g. AlertWorker(redis, slack_port, policy.route_event, "w1",
org_url=org_url, digest=DigestSettings(threshold=20, window_s=60)).run(), and the LogPoller.)
"""

from alerts.digest import DigestSettings
from alerts.format import AlertKind, AlertMessage, classify, render_event
from alerts.poller import LogPoller
from alerts.receiver import HookConfig, create_hook_app, hook_routes
from alerts.service import AlertService
from alerts.sink import Sink
from alerts.stages import Stage
from alerts.stream import STREAM_KEY
from alerts.worker import DEFAULT_GROUP, AlertWorker

__all__ = [
    "DEFAULT_GROUP",
    "STREAM_KEY",
    "AlertKind",
    "AlertMessage",
    "AlertService",
    "AlertWorker",
    "DigestSettings",
    "HookConfig",
    "LogPoller",
    "Sink",
    "Stage",
    "classify",
    "create_hook_app",
    "hook_routes",
    "render_event",
]
