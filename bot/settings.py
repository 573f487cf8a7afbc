"""Process settings, from environment variables and an optional `.env` file (pydantic-settings).

`load_settings()` reports every missing or invalid setting at once, in one message, and never
echoes a secret's value. Secrets are `SecretStr`, so they print as '**********' in reprs and logs.
Anything left unset is simulated (sandbox): no Slack -> the local console, no Okta -> the org
simulator, no REDIS_URL -> an embedded redis-server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import SplitResult, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from oktaclient import SigningKey, load_signing_keys

DEFAULT_OKTA_SCOPES = (
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.logs.read",
)  # what the running bot calls; `hooks register` needs okta.eventHooks.manage too (see docs/deploy.md)

_SECRET_FIELDS = {
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "okta_api_token",
    "okta_private_key",
    "okta_private_key_previous",
    "okta_hook_secret",
    "okta_hook_secret_previous",
}


class SettingsError(Exception):
    """Every problem found in the configuration, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Configuration problems:\n" + "\n".join(f"  - {p}" for p in problems))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    okta_org_url: str | None = None
    okta_api_token: SecretStr | None = None
    okta_client_id: str | None = None
    okta_private_key: SecretStr | None = Field(
        default=None, description="PEM text (several lines, or one line with \\n escapes), or a PEM file's path"
    )
    # During a key rotation: the key being retired, still registered in Okta; see oktaclient._auth.
    okta_private_key_previous: SecretStr | None = None
    okta_scopes: Annotated[tuple[str, ...], NoDecode] = DEFAULT_OKTA_SCOPES
    okta_hook_secret: SecretStr | None = None
    # While the hook's secret rotates: the one Okta may still send, accepted until `hooks register`
    # has given Okta the new OKTA_HOOK_SECRET (docs/deploy.md, "Rotating the hook secret").
    okta_hook_secret_previous: SecretStr | None = None
    # For orgs that cannot reach the bot's /okta/hooks: read the System Log instead (same pipeline).
    okta_poll_logs: bool = False

    redis_url: str | None = None
    policy_file: Path | None = None
    data_dir: Path = Path("data")
    # Real Okta with a simulated Slack, or the other way round, only when asked for by name: a
    # deployment missing half its settings must not quietly run half of itself against stand-ins.
    allow_partial_sandbox: bool = False
    # A log line per HTTP request: off by default, since under a burst of commands writing them
    # costs about a third of what acking does (bench/bench_ack.py); commands are in the audit trail.
    log_access: bool = False

    @field_validator("okta_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s for s in value.replace(",", " ").split() if s)
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        _require_http_url(value)
        return value if value.endswith("/") else value + "/"

    @field_validator("okta_org_url")
    @classmethod
    def _org_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = _require_http_url(value)
        if parts.path not in ("", "/") or parts.query:
            raise ValueError("must be the org's base URL, e.g. https://acme.okta.com (no path)")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    # -- what is real and what is simulated -------------------------------------------------

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def okta_configured(self) -> bool:
        return self.okta_org_url is not None

    @property
    def partial_sandbox(self) -> bool:
        """One of Slack and Okta real, the other simulated (only with ALLOW_PARTIAL_SANDBOX)."""
        return self.slack_configured != self.okta_configured

    @property
    def previous_hook_secret(self) -> str:
        """OKTA_HOOK_SECRET_PREVIOUS, or "" when no rotation is under way."""
        return _secret(self.okta_hook_secret_previous)

    def okta_signing_keys(self) -> list[SigningKey]:
        """The active key, then OKTA_PRIVATE_KEY_PREVIOUS's when set (ValueError when one is unusable)."""
        values = (self.okta_private_key, self.okta_private_key_previous)
        return [key for value in values if value is not None for key in load_signing_keys(value.get_secret_value())]

    def okta_private_key_pem(self) -> str | None:
        """The signing keys as PEM text, active first: the form oktaclient's PrivateKeyJwtAuth reads."""
        if self.okta_private_key is None:
            return None
        return "".join(key.pem() for key in self.okta_signing_keys())

    def cross_field_problems(self) -> list[str]:
        """Problems that involve several settings; field-level ones come from pydantic."""
        problems: list[str] = []
        if self.slack_configured:
            if not self.slack_bot_token.get_secret_value().startswith("xoxb-"):  # type: ignore[union-attr]
                problems.append("SLACK_BOT_TOKEN: must be a bot token (starts with xoxb-)")
            if not _secret(self.slack_signing_secret) and not self.socket_mode:
                problems.append("SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set (HTTP mode)")
            if self.socket_mode and not self.slack_app_token.get_secret_value().startswith("xapp-"):  # type: ignore[union-attr]
                problems.append("SLACK_APP_TOKEN: must be an app-level token (starts with xapp-)")
        elif self.slack_signing_secret is not None or self.slack_app_token is not None:
            problems.append("SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set")

        oauth = self.okta_client_id is not None or self.okta_private_key is not None
        if self.okta_configured:
            if self.okta_api_token is None and not oauth:
                problems.append("OKTA_API_TOKEN, or OKTA_CLIENT_ID + OKTA_PRIVATE_KEY: one is required with OKTA_ORG_URL")
            if self.okta_api_token is not None and oauth:
                problems.append("OKTA_API_TOKEN and OKTA_CLIENT_ID/OKTA_PRIVATE_KEY: set one way to authenticate, not both")
            if oauth and self.okta_client_id is None:
                problems.append("OKTA_CLIENT_ID: required with OKTA_PRIVATE_KEY")
            if oauth and self.okta_private_key is None:
                problems.append("OKTA_PRIVATE_KEY: required with OKTA_CLIENT_ID")
            if oauth and self.okta_private_key is not None:
                problems.extend(self._private_key_problems())
            if self.okta_private_key_previous is not None and self.okta_private_key is None:
                problems.append("OKTA_PRIVATE_KEY_PREVIOUS: only with OKTA_PRIVATE_KEY (it is the key being retired)")
            if not self.okta_scopes:
                problems.append("OKTA_SCOPES: must name at least one scope")
        elif self.okta_api_token is not None or oauth:
            problems.append("OKTA_ORG_URL: required when Okta credentials are set")
        problems.extend(self._hook_secret_problems())
        if self.slack_configured and self.policy_file is None:
            problems.append("POLICY_FILE: required with a real Slack workspace (start from policy/example.yaml)")
        if self.policy_file is not None and not self.policy_file.is_file():
            problems.append(f"POLICY_FILE: no such file: {self.policy_file}")
        return problems

    def serving_problems(self) -> list[str]:
        """What stops the bot from serving with these settings, beyond `cross_field_problems`: half
        a deployment configured (real Slack, no Okta settings, or the reverse) is an error unless
        ALLOW_PARTIAL_SANDBOX says it is meant. The operator commands that need one part only
        (`hooks`, `okta-sim`) do not ask this."""
        if not self.partial_sandbox or self.allow_partial_sandbox:
            return []
        real, missing = ("Slack", "Okta") if self.slack_configured else ("Okta", "Slack")
        hint = "OKTA_ORG_URL and its credentials" if missing == "Okta" else "SLACK_BOT_TOKEN and its secrets"
        return [
            (
                f"{real} is configured but {missing} is not: set {hint}, or ALLOW_PARTIAL_SANDBOX=true to run "
                f"against a simulated {missing} on purpose (never in production)"
            )
        ]

    def _hook_secret_problems(self) -> list[str]:
        """Hook secrets that cannot work: Okta sends the value as a header, which cannot carry
        control characters and loses surrounding spaces on the way."""
        problems = [
            f"{name}: must be printable text without spaces at either end (Okta sends it as an HTTP header)"
            for name, value in (
                ("OKTA_HOOK_SECRET", self.okta_hook_secret),
                ("OKTA_HOOK_SECRET_PREVIOUS", self.okta_hook_secret_previous),
            )
            if value is not None and not _header_safe(value.get_secret_value())
        ]
        if self.okta_hook_secret_previous is not None and not _secret(self.okta_hook_secret):
            problems.append(
                "OKTA_HOOK_SECRET_PREVIOUS: set only with OKTA_HOOK_SECRET (the new secret) during a rotation"
            )
        return problems

    def _private_key_problems(self) -> list[str]:
        found: dict[str, str] = {}
        named = (("OKTA_PRIVATE_KEY", self.okta_private_key), ("OKTA_PRIVATE_KEY_PREVIOUS", self.okta_private_key_previous))
        for name, value in named:
            if value is None:
                continue
            try:
                keys = load_signing_keys(value.get_secret_value())
            except ValueError as exc:
                return [f"{name}: {exc}"]
            if len(keys) != 1:
                return [f"{name}: holds {len(keys)} keys; give the key being retired as OKTA_PRIVATE_KEY_PREVIOUS"]
            if keys[0].kid in found.values():
                return [f"{name}: the same key as OKTA_PRIVATE_KEY: give the key being retired, or unset it"]
            found[name] = keys[0].kid
        return []


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def _header_safe(value: str) -> bool:
    return value == value.strip() and all(" " <= c <= "~" for c in value)


def _require_http_url(value: str) -> SplitResult:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return parts


def load_settings(*, serving: bool = False, **overrides: object) -> Settings:
    """Read and check the settings; raise SettingsError listing every problem found. `serving`:
    for running the bot (`serve`, `check`), so `serving_problems` count too."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError([_describe(err) for err in exc.errors()]) from None
    problems = settings.cross_field_problems() + (settings.serving_problems() if serving else [])
    if problems:
        raise SettingsError(problems)
    return settings


def _describe(err: object) -> str:
    """One line per pydantic error, naming the env var; the offending value is echoed only if not secret."""
    loc = err["loc"]  # type: ignore[index]
    field = str(loc[0]) if loc else "settings"
    message = str(err["msg"]).removeprefix("Value error, ")  # type: ignore[index]
    shown = "" if field in _SECRET_FIELDS else f" (got {err.get('input')!r})"  # type: ignore[attr-defined]
    return f"{field.upper()}: {message}{shown}"
