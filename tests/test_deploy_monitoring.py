"""deploy/prometheus and deploy/grafana: every expression parses as PromQL, and every metric and label it
names is one the bot serves at /metrics (or, for the few below, one that is being added or that another
exporter serves). The alert rules cover what an operator must hear about.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import REGISTRY, instrument_okta_http, metrics_route
from bot.server import BackgroundServer
from oktaclient import OktaClient
from oktasim import OktaOrg
from tests.conftest import SIM_API_TOKEN

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
RULES = DEPLOY / "prometheus" / "okta-chatops-rules.yml"
DASHBOARD = DEPLOY / "grafana" / "okta-chatops-dashboard.json"

# Counters other changes add to bot/metrics.py, by the names the rules already use (label names given).
BEING_ADDED = {
    "okc_alerts_dead_letters_total": set(),  # alerts given up on after their retries
    "okc_hook_requests_total": {"request", "outcome"},  # every request to /okta/hooks, refusals included
}
# Served by Prometheus itself (up) and by the Redis exporter of deploy/docker-compose.yml (redis_up).
EXTERNAL = {"up": {"job", "instance"}, "redis_up": {"job", "instance"}}


_SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def served_metrics() -> dict[str, set[str]]:
    """Every sample name bot/metrics.py serves, with its label names, whether or not it has samples yet
    (prometheus_client keeps a metric's label names in `_labelnames`, the one place they are before a sample)."""
    names: dict[str, set[str]] = {}
    for collector in list(REGISTRY._collector_to_names):
        for family in collector.describe():
            labels = set(getattr(collector, "_labelnames", None) or getattr(family, "_labelnames", ()))
            for suffix in _SAMPLE_SUFFIXES[family.type]:
                names[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return names


def _nodes(expr: Any) -> Iterator[Any]:
    yield expr
    for attribute in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(expr, attribute, None)
        if child is not None and not isinstance(child, str | int | float):
            yield from _nodes(child)
    for arg in getattr(expr, "args", None) or []:
        yield from _nodes(arg)


def selectors(expression: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names matched or grouped by) of each series selector in a PromQL expression."""
    tree = promql_parser.parse(expression)  # raises on anything that is not PromQL
    grouped: set[str] = set()
    found = []
    for node in _nodes(tree):
        modifier = getattr(node, "modifier", None)
        if isinstance(node, promql_parser.AggregateExpr) and modifier is not None:
            grouped |= set(modifier.labels)
        if isinstance(node, promql_parser.VectorSelector):
            found.append((node.name, {m.name for m in node.matchers.matchers}))
    return [(name, labels | grouped) for name, labels in found]


def rule_expressions() -> dict[str, str]:
    rules = yaml.safe_load(RULES.read_text())
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_metric_and_label_is_one_that_exists(source: str) -> None:
    known = served_metrics() | BEING_ADDED | EXTERNAL
    expressions = list(rule_expressions().values()) if source == "rules" else dashboard_expressions()
    assert expressions
    used = set()
    for expression in expressions:
        for name, labels in selectors(expression):
            assert name in known, f"{name} in {expression!r} is not served by bot/metrics.py"
            unknown = labels - known[name] - {"job", "instance", "le"}
            assert not unknown, f"{name} has no label {unknown} ({expression!r})"
            used.add(name)
    if source == "dashboard":  # the dashboard shows every metric the bot serves
        assert not set(served_metrics()) - used - {n for n in served_metrics() if n.endswith(("_sum", "_count"))}


def test_the_rules_cover_what_an_operator_must_hear_about() -> None:
    rules = rule_expressions()
    needed = {
        "OktaChatopsDown": "up",
        "OktaChatopsRedisUnready": "redis_up",
        "OktaChatopsAlertsDeadLettered": "okc_alerts_dead_letters_total",
        "OktaChatopsHookDeliveriesRefused": "okc_hook_requests_total",
        "OktaChatopsOktaRateLimited": "okc_okta_rate_limited_total",
    }
    for alert, metric in needed.items():
        assert metric in {name for name, _ in selectors(rules[alert])}, alert
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("page", "ticket")
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_refused_hook_rule_leaves_out_exactly_the_accepted_outcomes() -> None:
    expression = rule_expressions()["OktaChatopsHookDeliveriesRefused"]
    [(_, _)] = selectors(expression)
    assert 'outcome!~"accepted.*|not_stored"' in expression  # not_stored (503) is retried by Okta: its own rule


def test_prometheus_loads_the_rules_the_compose_file_mounts() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    mounts = {m.split(":")[1]: m.split(":")[0] for m in compose["services"]["prometheus"]["volumes"]}
    for rule_file in config["rule_files"]:
        assert (DEPLOY / mounts[rule_file]).resolve() == RULES
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    bots = [name for name, service in compose["services"].items() if service.get("image", "").startswith("okta-chatops")]
    assert sorted(jobs["okta-chatops"]["static_configs"][0]["targets"]) == sorted(f"{b}:3000" for b in bots)


async def test_okta_429s_are_counted(okta_org: OktaOrg, okta_sim: BackgroundServer) -> None:
    async with BackgroundServer(metrics_route_app()) as metrics, httpx.AsyncClient() as http:

        async def count() -> float:
            text = (await http.get(f"{metrics.url}/metrics")).text
            samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
            return next(s.value for s in samples if s.name == "okc_okta_rate_limited_total")

        before = await count()
        okta_org.inject_failure("GET", "/api/v1/users/", status=429, times=2)
        # the client would wait for the window's reset (up to a minute); a 429 here is about counting, not pacing
        client = OktaClient.from_api_token(
            okta_sim.url, SIM_API_TOKEN, http=instrument_okta_http(http), max_rate_limit_wait=0.01
        )
        await client.get_user("erin.employee@acme.example")  # retried after each 429, then answered
        assert await count() - before == 2


def metrics_route_app() -> Any:
    from starlette.applications import Starlette

    return Starlette(routes=[metrics_route()])
