"""Process settings, from environment variables and an optional `.env` file (pydantic-settings).

`load_settings()` reports every missing or invalid setting at once, in one message, and never
echoes a secret's value. Secrets are `SecretStr`, so they print as '**********' in reprs and logs.
Anything left unset is simulated (sandbox): no Slack -> the local console, no Okta -> the org
simulator, no REDIS_URL -> an embedded redis-server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import SplitResult, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
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
    "audit_hec_token",
    "redis_url",  # it may carry a password (moved to redis_password once parsed)
    "redis_password",
    "redis_sentinel_password",
}
SENTINEL_PORT = 26379


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

    # Redis: REDIS_URL, or Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_MASTER), or neither: the embedded
    # server under DATA_DIR. A user and password in REDIS_URL are moved to redis_username and
    # redis_password, so that the URL itself carries no secret.
    redis_url: str | None = None
    redis_username: str | None = None
    redis_password: SecretStr | None = None
    redis_sentinels: Annotated[tuple[tuple[str, int], ...], NoDecode] = ()
    redis_sentinel_master: str | None = None
    redis_sentinel_password: SecretStr | None = None
    redis_tls: bool = False  # with Sentinel: TLS to the sentinels and the servers (a URL says rediss://)
    redis_tls_ca_file: Path | None = None  # the CA bundle to check the servers' certificates against
    # full: the certificate chain and the host name; chain: the chain only (servers known by IP
    # address, as Sentinel names them); none: no check at all (never in production)
    redis_tls_cert_check: Literal["full", "chain", "none"] = "full"
    # WAIT for this many replicas after each write (bot/redis_acks.py); unset: 1 with Sentinel, else 0
    redis_wait_replicas: int | None = Field(default=None, ge=0)
    policy_file: Path | None = None
    data_dir: Path = Path("data")
    # Real Okta with a simulated Slack, or the other way round, only when asked for by name: a
    # deployment missing half its settings must not quietly run half of itself against stand-ins.
    allow_partial_sandbox: bool = False
    # A log line per HTTP request: off by default, since under a burst of commands writing them
    # costs about a third of what acking does (bench/bench_ack.py); commands are in the audit trail.
    log_access: bool = False
    # `okta-chatops audit export --follow --hec`: a Splunk HEC-compatible endpoint and its token
    audit_hec_url: str | None = None
    audit_hec_token: SecretStr | None = None
    # How long an approved action's execution lease lasts unless renewed: after a replica dies
    # mid-action, another settles the request within this long.
    approval_lease_seconds: float = Field(default=30.0, ge=1.0, le=3600.0)

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

    @field_validator("audit_hec_url")
    @classmethod
    def _hec_url(cls, value: str | None) -> str | None:
        if value is not None:
            _require_http_url(value)
        return value

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
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must start with redis://, rediss:// or unix://")
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError("must name a host, e.g. redis://redis.internal:6379/0")
        # redis-py would take any option from the query, TLS ones included: the settings below say those
        if any(name != "db" for name, _, _ in (p.partition("=") for p in parts.query.split("&") if p)):
            raise ValueError("takes no query parameters but db= (TLS: REDIS_TLS_CA_FILE, REDIS_TLS_CERT_CHECK)")
        return value

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _split_sentinels(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return tuple(_host_port(item, SENTINEL_PORT) for item in value.replace(",", " ").split())

    @model_validator(mode="after")
    def _redis_credentials_apart(self) -> Settings:
        """A user and password in REDIS_URL move to their own fields: the password is then a secret
        like the others (redacted from logs), and the URL can be shown."""
        if self.redis_url is None:
            return self
        parts = urlsplit(self.redis_url)
        if parts.username is None and parts.password is None:
            return self
        if (parts.password and self.redis_password is not None) or (parts.username and self.redis_username is not None):
            return self  # left as given: cross_field_problems says which is set twice
        if parts.password:
            self.redis_password = SecretStr(unquote(parts.password))
        if parts.username:
            self.redis_username = unquote(parts.username)
        self.redis_url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        return self

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
    def redis_sentinel(self) -> bool:
        return bool(self.redis_sentinels)

    @property
    def redis_embedded(self) -> bool:
        return self.redis_url is None and not self.redis_sentinels

    @property
    def redis_uses_tls(self) -> bool:
        return self.redis_tls if self.redis_sentinel else urlsplit(self.redis_url or "").scheme == "rediss"

    @property
    def redis_replica_acks(self) -> int:
        """How many replicas must acknowledge each write (REDIS_WAIT_REPLICAS, by default 1 with Sentinel)."""
        if self.redis_wait_replicas is not None:
            return self.redis_wait_replicas
        return 1 if self.redis_sentinel else 0

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
        return problems + self._redis_problems()

    def _redis_problems(self) -> list[str]:
        """Redis settings that contradict or lack each other: each is an error, never a quiet fallback
        to the embedded server or to a connection without TLS."""
        problems: list[str] = []
        if self.redis_sentinels and self.redis_sentinel_master is None:
            problems.append("REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS (the name the sentinels monitor)")
        if self.redis_sentinel_master is not None and not self.redis_sentinels:
            problems.append("REDIS_SENTINELS: required with REDIS_SENTINEL_MASTER (host:port of each sentinel)")
        if self.redis_sentinels and self.redis_url is not None:
            problems.append("REDIS_URL and REDIS_SENTINELS: set one of them (Sentinel names the primary itself)")
        if self.redis_sentinel_password is not None and not self.redis_sentinels:
            problems.append("REDIS_SENTINELS: required when REDIS_SENTINEL_PASSWORD is set")
        if self.redis_embedded:
            given = [name for name, value in (
                ("REDIS_USERNAME", self.redis_username), ("REDIS_PASSWORD", self.redis_password),
                ("REDIS_WAIT_REPLICAS", self.redis_wait_replicas or None),
            ) if value is not None]
            if given:
                problems.append(f"REDIS_URL or REDIS_SENTINELS: required with {', '.join(given)} (the embedded Redis takes none)")
        elif self.redis_username is not None and self.redis_password is None:
            problems.append("REDIS_PASSWORD: required with REDIS_USERNAME")
        in_url = urlsplit(self.redis_url or "")  # credentials are left in it only when also set on their own
        if in_url.password and self.redis_password is not None:
            problems.append("REDIS_URL and REDIS_PASSWORD both set a password: set it in one of them")
        if in_url.username and self.redis_username is not None:
            problems.append("REDIS_URL and REDIS_USERNAME both set a user: set it in one of them")
        if self.redis_tls and not self.redis_sentinel:
            problems.append("REDIS_TLS: only with REDIS_SENTINELS; a URL asks for TLS with rediss://")
        if not self.redis_uses_tls and (self.redis_tls_ca_file is not None or self.redis_tls_cert_check != "full"):
            problems.append("REDIS_TLS_CA_FILE / REDIS_TLS_CERT_CHECK: only with TLS (rediss://, or REDIS_TLS=true)")
        if self.redis_tls_ca_file is not None and not self.redis_tls_ca_file.is_file():
            problems.append(f"REDIS_TLS_CA_FILE: no such file: {self.redis_tls_ca_file}")
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


def _host_port(item: str, default_port: int) -> tuple[str, int]:
    """'host:port', '[v6]:port' or 'host' (the default port)."""
    host, sep, port = item.rpartition(":") if not item.endswith("]") else ("", "", "")
    if not sep:
        host, port = item, str(default_port)
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{item!r} is not host:port")
    return host, int(port)


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
