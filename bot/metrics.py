"""Prometheus metrics: one registry for the process, served at GET /metrics.

Each replica exposes its own counters; Prometheus scrapes every replica and sums them. The
registry is this module's own (not prometheus_client's global one), so importing a library that
registers its metrics globally cannot change what /metrics shows.

Who counts what: commands and approvals are counted by the bot's Slack handlers, hook events by
the alerts pipeline's stage counts (`count_hook_events` subscribes to them) and its dead letters by
reason (`count_dead_letters`), requests to the hook endpoint by its receiver (`count_hook_request`,
refusals included), Okta latency by the
httpx hooks of `instrument_okta_http` (and Okta's 429s), and the Okta rate-limit gauges are read from the live
client at scrape time (`observe_okta`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import get_args

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerts import deadletters, stages
from alerts.receiver import HookOutcome, HookRequest
from approvals.models import ApprovalState
from audit import AuditRecord
from confirm import observe as was_this_you
from oktaclient import OktaClient
from policy import Verb

REGISTRY = CollectorRegistry()

COMMANDS = Counter(
    "okc_commands_total",
    "Commands and clicks handled, by verb and audited outcome (succeeded, failed, refused, requested, ...).",
    ["verb", "outcome"],
    registry=REGISTRY,
)
APPROVAL_TRANSITIONS = Counter(
    "okc_approval_transitions_total",
    "Approval requests entering each state.",
    ["state"],
    registry=REGISTRY,
)
HOOK_EVENTS = Counter(
    "okc_hook_events_total",
    f"Okta event hook events by pipeline stage ({', '.join(stages.Stage)}).",
    ["stage"],
    registry=REGISTRY,
)
HOOK_REQUESTS = Counter(
    "okc_hook_requests_total",
    "Requests to the Okta event hook endpoint, by request (verification, delivery) and outcome "
    f"({', '.join(HookOutcome)}); anything but accepted* was refused, and Okta does not retry a 4xx.",
    ["request", "outcome"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "okc_alerts_dead_letters_total",
    "Alert events parked in the dead-letter stream: Slack refused their message, and its plain-text retry, "
    f"for good; by Slack's reason ({', '.join(deadletters.Reason)}).",
    ["reason"],
    registry=REGISTRY,
)
COMMAND_SECONDS = Histogram(
    "okc_command_seconds",
    "Time from a command's arrival to its reply, by verb.",
    ["verb"],
    registry=REGISTRY,
)
OKTA_CALL_SECONDS = Histogram(
    "okc_okta_request_seconds",
    "Okta API requests: time to the response headers, by HTTP method (each retry counts).",
    ["method"],
    registry=REGISTRY,
)
OKTA_RATE_LIMITED = Counter(
    "okc_okta_rate_limited_total",
    "Okta API responses 429 (rate limit or concurrency limit); the client waits for the reset and retries.",
    registry=REGISTRY,
)
# Slack retries a request that is not acknowledged within 3 s: the buckets resolve that range.
ACK_SECONDS = Histogram(
    "okc_slack_ack_seconds",
    "Time to acknowledge a Slack request (Slack retries after 3 s).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
    registry=REGISTRY,
)

WAS_THIS_YOU_QUESTIONS = Counter(
    "okc_was_this_you_questions_total",
    f"\"Was this you?\" questions closed, by answer ({', '.join(was_this_you.Answer)}; a report to Okta counts as no, "
    "no Slack account as timeout).",
    ["answer"],
    registry=REGISTRY,
)
WAS_THIS_YOU_CONTAINMENT_SECONDS = Histogram(
    "okc_was_this_you_containment_seconds",
    "Time from the Okta event to its containment done (the employee's answer included).",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
    registry=REGISTRY,
)

# Label values known in advance start at zero, so rate() and absent-series alerts work from the first scrape.
for _stage in stages.Stage:
    HOOK_EVENTS.labels(stage=_stage.value)
for _state in ApprovalState:
    APPROVAL_TRANSITIONS.labels(state=_state.value)
for _kind in get_args(HookRequest):
    for _outcome in HookOutcome:
        HOOK_REQUESTS.labels(request=_kind, outcome=_outcome.value)
for _reason in deadletters.Reason:
    DEAD_LETTERS.labels(reason=_reason.value)
for _answer in was_this_you.Answer:
    WAS_THIS_YOU_QUESTIONS.labels(answer=_answer.value)


class _OktaRateLimits:
    """Okta's X-Rate-Limit-* values per bucket, read from the live client at scrape time."""

    def __init__(self) -> None:
        self.client: OktaClient | None = None

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        remaining, limit = self._families()
        for bucket, seen in (self.client.rate_limits if self.client else {}).items():
            remaining.add_metric([bucket], seen.remaining)
            limit.add_metric([bucket], seen.limit)
        yield remaining
        yield limit

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "okc_okta_rate_limit_remaining",
                "Requests left in the current window of an Okta rate-limit bucket (latest response seen).",
                labels=["bucket"],
            ),
            GaugeMetricFamily(
                "okc_okta_rate_limit_limit",
                "Requests allowed per window of an Okta rate-limit bucket (latest response seen).",
                labels=["bucket"],
            ),
        )


OKTA_RATE_LIMITS = _OktaRateLimits()
REGISTRY.register(OKTA_RATE_LIMITS)


# Label values come from closed sets: a record's verb can be whatever word someone typed (an invalid
# command is audited as typed), and each new value would be a new series kept for ever.
VERB_LABELS = frozenset(verb.value for verb in Verb) | {"approve", "deny"}
OUTCOME_LABELS = frozenset(
    {"succeeded", "failed", "refused", "requested", "unresolved", "unchanged", "invalid", "approved", "denied",
     "cancelled", "expired", "executing", "reclaimed", "handed_back", "reviewed"}
)


# The approval state an approval record's outcome says the request entered (the N-th approval
# passes APPROVED and enters EXECUTING in one step: both are counted).
_ENTERED: dict[str, tuple[ApprovalState, ...]] = {
    "requested": (ApprovalState.PENDING,),
    "executing": (ApprovalState.APPROVED, ApprovalState.EXECUTING),
    "succeeded": (ApprovalState.SUCCEEDED,),
    "failed": (ApprovalState.FAILED,),
    "denied": (ApprovalState.DENIED,),
    "expired": (ApprovalState.EXPIRED,),
    "cancelled": (ApprovalState.CANCELLED,),
}


class PrometheusObserver:
    """The recorder's observer (audit.recorder.Observer): every audited record, direct or through an
    approval, by verb and outcome; and the state each approval record moved its request to."""

    def record(self, record: AuditRecord) -> None:
        verb = record.verb if record.verb in VERB_LABELS else "unknown"
        outcome = record.outcome if record.outcome in OUTCOME_LABELS else "other"
        COMMANDS.labels(verb=verb, outcome=outcome).inc()
        if record.source == "approval" and record.approval_id:
            for state in _ENTERED.get(record.outcome, ()):
                APPROVAL_TRANSITIONS.labels(state=state.value).inc()


def count_hook_events() -> Callable[[], None]:
    """Count the alert pipeline's events by stage in HOOK_EVENTS; returns the undo."""
    return stages.observe(lambda stage, n: HOOK_EVENTS.labels(stage=stage.value).inc(n))


def count_hook_request(request: HookRequest, outcome: HookOutcome) -> None:
    """The hook receiver's observer (alerts.receiver.HookObserver)."""
    HOOK_REQUESTS.labels(request=request, outcome=outcome.value).inc()


def count_dead_letters() -> Callable[[], None]:
    """Count the alert pipeline's dead letters by reason in DEAD_LETTERS; returns the undo."""
    return deadletters.REASONS.observe(lambda reason, n: DEAD_LETTERS.labels(reason=reason.value).inc(n))


def count_was_this_you() -> Callable[[], None]:
    """Count "Was this you?" answers and containment times; returns the undo."""
    undo_answers = was_this_you.ANSWERS.observe(lambda answer, n: WAS_THIS_YOU_QUESTIONS.labels(answer=answer.value).inc(n))
    undo_times = was_this_you.CONTAINMENT.observe(WAS_THIS_YOU_CONTAINMENT_SECONDS.observe)

    def undo() -> None:
        undo_answers()
        undo_times()

    return undo


def observe_okta(client: OktaClient) -> Callable[[], None]:
    """Report `client`'s rate limits at /metrics; returns the undo (e.g. for an AsyncExitStack callback)."""
    OKTA_RATE_LIMITS.client = client

    def stop() -> None:
        if OKTA_RATE_LIMITS.client is client:
            OKTA_RATE_LIMITS.client = None

    return stop


_STARTED = "okc_metrics_started"


async def _request_started(request: httpx.Request) -> None:
    request.extensions[_STARTED] = time.perf_counter()


async def _response_received(response: httpx.Response) -> None:
    if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
        OKTA_RATE_LIMITED.inc()
    started = response.request.extensions.get(_STARTED)
    if started is not None:
        OKTA_CALL_SECONDS.labels(method=response.request.method).observe(time.perf_counter() - started)


def instrument_okta_http(http: httpx.AsyncClient) -> httpx.AsyncClient:
    """Time every request `http` sends; pass the result to OktaClient(..., http=...)."""
    http.event_hooks["request"].append(_request_started)
    http.event_hooks["response"].append(_response_received)
    return http


def metrics_route(path: str = "/metrics") -> Route:
    """GET `path`: the registry in Prometheus' text format."""

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Route(path, metrics, methods=["GET"])
