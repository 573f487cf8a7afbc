"""The Slack app manifest: its structure, the `manifest` command, and least-privilege scopes.

The scope test reads the bot's own source: every Slack Web API method it calls must be in
bot.manifest.METHOD_SCOPES (so its scopes are in the manifest), and every method there must still
be called (so no scope is granted for nothing).
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli import main
from bot.manifest import EXAMPLE_URL, FEATURE_SCOPES, METHOD_SCOPES, bot_scopes, build_manifest, render

ROOT = Path(__file__).resolve().parent.parent
# Stand-ins serve Slack's API rather than call it.
NOT_THE_BOT = {"oktasim", "slacksim"}

# `client.chat_postMessage(...)`, or a method passed around: `pages = client.conversations_list`
_SDK_ATTRIBUTE = re.compile(r"\.([a-z][A-Za-z]*(?:_[A-Za-z]+)+)\b")
# `client.api_call("chat.postMessage", ...)`
_API_CALL = re.compile(r"\bapi_call\(\s*[\"']([\w.]+)[\"']")
# Bolt's `say(...)` posts with chat.postMessage (`respond` uses the response_url: no scope).
_BOLT_SAY = re.compile(r"\bsay\(")
_SDK_METHODS = {name for name in dir(AsyncWebClient) if not name.startswith("_")} - {"api_call", "BASE_URL", "logger"}


def bot_sources() -> list[Path]:
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = sorted({pattern.rstrip("*").rstrip(".") for pattern in include} - NOT_THE_BOT)
    return [path for package in packages for path in sorted((ROOT / package).rglob("*.py"))]


def called_methods() -> dict[str, list[str]]:
    """Slack Web API method -> where the bot's code calls it (file:line)."""
    calls: dict[str, list[str]] = defaultdict(list)
    for path in bot_sources():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            where = f"{path.relative_to(ROOT)}:{number}"
            found = [m for m in _SDK_ATTRIBUTE.findall(line) if m in _SDK_METHODS]
            methods = [m.replace("_", ".") for m in found] + _API_CALL.findall(line)
            methods += ["chat.postMessage"] * len(_BOLT_SAY.findall(line))
            for method in methods:
                calls[method].append(where)
    return calls


def test_every_web_api_call_has_its_scopes_in_the_manifest() -> None:
    calls = called_methods()
    unknown = {m: calls[m] for m in calls if m not in METHOD_SCOPES}
    assert not unknown, (
        f"the code calls Slack methods missing from bot/manifest.py METHOD_SCOPES: {unknown}. Add each with "
        "the bot scopes its api.slack.com/methods page names, then regenerate app_manifest.yaml "
        f"(okta-chatops manifest --url {EXAMPLE_URL} > app_manifest.yaml)"
    )
    granted = set(build_manifest(EXAMPLE_URL)["oauth_config"]["scopes"]["bot"])
    for method in calls:
        assert set(METHOD_SCOPES[method]) <= granted, method


def test_no_scope_is_granted_for_nothing() -> None:
    calls = called_methods()
    uncalled = sorted(set(METHOD_SCOPES) - set(calls))
    assert not uncalled, f"METHOD_SCOPES lists methods no code calls any more: {uncalled}; remove them"
    manifest = build_manifest(EXAMPLE_URL)
    needed_by_features = {"commands"} if manifest["features"]["slash_commands"] else set()
    assert set(FEATURE_SCOPES) == needed_by_features
    used = {scope for method in calls if method in METHOD_SCOPES for scope in METHOD_SCOPES[method]}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) <= used | needed_by_features


def test_the_scan_sees_calls_in_their_usual_forms(tmp_path: Path) -> None:
    """The scanner itself: SDK calls, method references, api_call and Bolt's say; not look-alikes."""
    line = (
        "await client.chat_postMessage(channel=c); pages = client.conversations_list; "
        'await client.api_call("usergroups.users.list"); await say("hi"); directory.users_by_id()'
    )
    assert [m for m in _SDK_ATTRIBUTE.findall(line) if m in _SDK_METHODS] == ["chat_postMessage", "conversations_list"]
    assert _API_CALL.findall(line) == ["usergroups.users.list"]
    assert len(_BOLT_SAY.findall(line)) == 1


def test_app_manifest_yaml_is_the_generated_manifest() -> None:
    assert (ROOT / "app_manifest.yaml").read_text() == render(build_manifest(EXAMPLE_URL)), (
        f"regenerate it: okta-chatops manifest --url {EXAMPLE_URL} > app_manifest.yaml"
    )


def _values(tree: Any, key: str) -> list[Any]:
    """Every value stored under `key` anywhere in a nested manifest."""
    if isinstance(tree, dict):
        return [v for k, v in tree.items() if k == key] + [x for v in tree.values() for x in _values(v, key)]
    if isinstance(tree, list):
        return [x for v in tree for x in _values(v, key)]
    return []


def check_structure(manifest: dict[str, Any]) -> None:
    """What Slack's manifest schema requires of the fields used, with its length limits."""
    info = manifest["display_information"]
    assert 1 <= len(info["name"]) <= 35 and len(info["description"]) <= 140
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", info["background_color"])
    features = manifest["features"]
    assert 1 <= len(features["bot_user"]["display_name"]) <= 80
    assert features["app_home"]["home_tab_enabled"] is True and features["app_home"]["messages_tab_enabled"] is True
    (command,) = features["slash_commands"]
    assert command["command"] == "/okta" and 0 < len(command["description"]) <= 2000 and command["usage_hint"]
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert scopes == sorted(set(scopes)) == bot_scopes() and "commands" in scopes and "chat:write" in scopes
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False and settings["token_rotation_enabled"] is False


def test_http_mode_points_every_request_url_at_the_bolt_endpoint() -> None:
    manifest = build_manifest("https://chatops.acme.test/")
    check_structure(manifest)
    assert manifest["settings"]["socket_mode_enabled"] is False
    urls = _values(manifest, "request_url") + _values(manifest, "url")
    assert urls == ["https://chatops.acme.test/slack/events"] * 3


def test_socket_mode_has_no_request_urls() -> None:
    manifest = build_manifest(None)
    check_structure(manifest)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert _values(manifest, "request_url") == [] and _values(manifest, "url") == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["manifest", "--url", "https://chatops.acme.test"], build_manifest("https://chatops.acme.test")),
        (["manifest", "--socket-mode"], build_manifest(None)),
    ],
)
def test_the_manifest_command_prints_yaml_slack_accepts(
    argv: list[str], expected: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    assert yaml.safe_load(capsys.readouterr().out) == expected


@pytest.mark.parametrize(
    "argv", [["manifest"], ["manifest", "--url", "http://chatops.acme.test"], ["manifest", "--url", "https://x?y=1"]]
)
def test_the_manifest_command_needs_a_public_https_url_or_socket_mode(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "--url" in capsys.readouterr().err
