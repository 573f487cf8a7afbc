"""`okta-chatops check`: is this deployment ready? One line per check, exit code 0 or 1.

Checks the settings, the secrets' form and the policy file, then talks to what is configured:
Redis (version and role; none in production is a warning), Slack (the token, its scopes against
the manifest's, every channel the policy names and the bot's membership of it) and Okta (the
credentials, the scopes each verb needs, every group the policy names, the event hook and its
failed deliveries). A failure says what to fix (bot/advice.py). Parts left unset are skipped: the
sandbox runs them on stand-ins. Marks and redaction: bot/check_report.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot import check_config
from bot.check_okta import okta_checks
from bot.check_report import Mark, Result, attempt, failed, passed
from bot.check_slack import slack_checks
from bot.logs import register_settings_secrets
from bot.settings import SettingsError, load_settings


def register(sub: Any) -> None:
    check = sub.add_parser(
        "check", help="check the settings, the policy file and the Slack, Okta and Redis credentials"
    )
    check.add_argument("--policy", type=Path, help="the policy file to check (default: POLICY_FILE)")
    check.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(serving=True, **({"policy_file": args.policy} if args.policy else {}))
    except SettingsError as exc:
        _show(failed("settings", "invalid; nothing else was checked", tuple(exc.problems)))
        return 1
    register_settings_secrets(settings)
    results = [passed("settings", "valid")]
    _show(results[0])
    policy_result, policy = check_config.policy(settings)
    for result in (check_config.secrets(settings, policy), policy_result):
        results.append(result)
        _show(result)
    results.append(await attempt("redis", check_config.redis(settings)))
    _show(results[-1])
    for checks in (slack_checks(settings, policy), okta_checks(settings, policy)):
        async for result in checks:
            results.append(result)
            _show(result)  # as it comes: a slow service is seen to be the slow one
    return 1 if any(r.mark is Mark.FAILED for r in results) else 0


def _show(result: Result) -> None:
    for line in result.lines():
        print(line, flush=True)
