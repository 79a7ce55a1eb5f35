"""The one settings model of every veille service, read from `VEILLE_*` environment variables.

The same fields point a service at the embedded broker and ClickHouse (demo,
tests, CI) or at Apache Kafka and a ClickHouse cluster (docker-compose, k8s).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from limits import parse
from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from veille_contracts.models import Audience

ENV_PREFIX = "VEILLE_"
INFRA_ENV_FILE = "infra.env"


class SettingsError(ValueError):
    """A setting has a bad value; the message names the environment variable."""


class VeilleSettings(BaseSettings):
    """Where the broker, ClickHouse, the model and local state are, and how to talk to them."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True, env_ignore_empty=True)

    # Kafka
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:19092", description="host:port[,host:port…]")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1_000, le=300_000)
    kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=100, le=100_000)
    kafka_enable_idempotence: bool = Field(
        default=False, description="On for Apache Kafka; the embedded broker refuses idempotent producers."
    )
    kafka_compression: Literal["none", "gzip", "lz4", "zstd", "snappy"] = "lz4"
    kafka_replication_factor: int = Field(default=1, ge=1, le=7)

    # ClickHouse
    clickhouse_url: AnyHttpUrl = Field(default=AnyHttpUrl("http://127.0.0.1:18123"))
    clickhouse_user: str = "default"
    clickhouse_password: SecretStr = SecretStr("")
    clickhouse_database: str = Field(default="veille", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    retention_days: int = Field(default=730, ge=1, le=36500, description="Mentions older than this are dropped.")

    # Analytics sink batching
    sink_batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    sink_batch_timeout_ms: int = Field(default=500, ge=1, le=60_000)

    # Grafana provisioning
    grafana_url: AnyHttpUrl = Field(default=AnyHttpUrl("http://127.0.0.1:3000"))
    grafana_token: SecretStr | None = Field(default=None, description="Service-account token; else user/password.")
    grafana_user: str = "admin"
    grafana_password: SecretStr = SecretStr("admin")
    grafana_clickhouse_url: str = Field(
        default="http://clickhouse:8123", description="ClickHouse as Grafana's server reaches it."
    )
    grafana_clickhouse_user: str = "veille_reader"
    grafana_clickhouse_password: SecretStr = SecretStr("")

    # Model and local state
    model: str = Field(
        default="", description="Hugging Face model id or local directory; empty means the embedded build."
    )
    model_cache: Path = Field(
        default=Path("~/.cache/veille/models"), description="Where the embedded model is built once per machine."
    )
    model_int8: bool = Field(default=True, description="Dynamic int8 quantization of the encoder on CPU.")
    model_threads: int = Field(default=0, ge=0, le=256, description="Torch intra-op threads; 0 means all cores.")
    model_max_tokens: int = Field(
        default=2048,
        ge=16,
        le=16384,
        description="Tokens read of one mention, over overlapping windows; the rest is not read.",
    )
    score_batch_size: int = Field(default=256, ge=1, le=4096, description="Mentions scored together at most.")
    score_batch_timeout_ms: int = Field(default=200, ge=1, le=60_000, description="Longest wait to fill a batch.")
    state_dir: Path = Path(".veille")

    # Embedded infrastructure (demo, tests, CI); 0 picks a free port.
    broker_port: int = Field(default=19092, ge=0, le=65535)
    clickhouse_http_port: int = Field(default=18123, ge=0, le=65535)
    clickhouse_tcp_port: int = Field(default=19000, ge=0, le=65535)
    broker_storage: str = Field(default="memory://tansu/", description="tansu storage engine URL.")
    broker_binary: Path | None = Field(default=None, description="tansu binary; found next to Python if unset.")

    # Escalation: where alerts are sent besides the `alerts` topic, and the HTTP endpoint for feedback
    notify_webhook_url: AnyHttpUrl | None = Field(default=None, description="Generic webhook: JSON, HMAC-signed.")
    notify_webhook_secret: SecretStr | None = Field(default=None, description="Shared secret of the webhook's HMAC.")
    notify_slack_url: AnyHttpUrl | None = Field(default=None, description="Slack-compatible incoming webhook.")
    notify_smtp_host: str | None = Field(default=None, description="SMTP server for e-mail alerts.")
    notify_smtp_port: int = Field(default=587, ge=1, le=65535)
    notify_smtp_starttls: bool = True
    notify_smtp_user: str | None = None
    notify_smtp_password: SecretStr | None = None
    notify_email_from: str = "veille@localhost"
    notify_email_to: dict[Audience, list[str]] = Field(
        default_factory=dict, description='JSON, per audience: {"customer_service": ["cs@example.org"], "hr": [...]}'
    )
    notify_email_max_severity: int = Field(default=4, ge=1, le=4, description="E-mail only alerts this urgent.")
    notify_language: Literal["en", "fr"] = "en"
    notify_attempts: int = Field(default=6, ge=1, le=20, description="Tries per alert before it is dead-lettered.")
    notify_backoff_s: float = Field(default=1.0, gt=0, le=60, description="First retry delay; doubles each time.")
    escalation_incident_days: float = Field(
        default=35, gt=0, le=3650, description="Escalation lets go of an incident silent this long."
    )
    escalation_max_incidents: int = Field(default=200_000, ge=100, description="Incidents escalation keeps at most.")
    notify_catch_up: bool = Field(
        default=True, description="Send alerts older than notify_late_after_hours, marked late; off: skip them."
    )
    notify_late_after_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    notify_throttle_minutes: float = Field(
        default=30.0, ge=0, le=24 * 60, description="At most one notification per incident this often."
    )
    feedback_token: SecretStr | None = Field(
        default=None, description="Bearer token of POST /feedback; the endpoint refuses everything while unset."
    )
    feedback_rate_limit: str = Field(default="600/minute", description="Requests per client address.")
    escalation_http_port: int = Field(default=18083, ge=0, le=65535, description="Health, stats and feedback.")
    sentiment_http_port: int = Field(default=18082, ge=0, le=65535, description="Health and readiness.")
    analytics_http_port: int = Field(default=18084, ge=0, le=65535, description="Health and readiness.")
    http_host: str = Field(default="127.0.0.1", description="Where the services' HTTP endpoints listen.")

    # Ingest
    watchlist: Path = Field(default=Path("config/watchlist.yaml"), description="Brands, queries and sources (YAML).")
    author_key: SecretStr = Field(
        default=SecretStr("veille-development-key"), description="Key of the authors' pseudonyms; set it in production."
    )
    author_keys_retired: list[SecretStr] = Field(
        default_factory=list,
        description="Former author keys (JSON list), kept while mentions pseudonymised with them are retained, "
        "so that erasure by handle still finds those mentions.",
    )
    webhook_secret: SecretStr | None = Field(default=None, description="HMAC secret of POST /webhook.")
    webhook_token: SecretStr | None = Field(default=None, description="Bearer token of POST /webhook.")
    webhook_max_bytes: int = Field(default=1_000_000, ge=1_000, le=50_000_000)
    webhook_rate_limit: str = Field(default="3000/minute", description="Requests per client address, e.g. 50/second.")
    dedup_window_days: int = Field(default=7, ge=0, le=90, description="Mentions read back on start to de-duplicate.")
    dedup_capacity: int = Field(
        default=200_000,
        ge=100,
        le=10_000_000,
        description="Texts in the copy index (~5.4 kB each).",
    )
    ingest_http_port: int = Field(default=18081, ge=0, le=65535, description="Webhook, health and stats.")

    # Telemetry
    otel_exporter: Literal["none", "console", "file", "otlp"] = Field(
        default="none", description="Where traces and metrics go; `file` writes under state_dir/telemetry."
    )
    otel_endpoint: str = Field(default="http://127.0.0.1:4318", description="OTLP/HTTP endpoint of the collector.")

    service_name: str = "veille"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server!r} is not host:port")
        return value

    @field_validator("webhook_rate_limit", "feedback_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate such as 50/second or 3000/minute") from None
        return value

    @property
    def clickhouse_host(self) -> str:
        return self.clickhouse_url.host or "127.0.0.1"

    @property
    def clickhouse_port(self) -> int:
        return self.clickhouse_url.port or (8443 if self.clickhouse_url.scheme == "https" else 8123)

    @property
    def clickhouse_secure(self) -> bool:
        return self.clickhouse_url.scheme == "https"

    @property
    def infra_env_file(self) -> Path:
        return self.state_dir / INFRA_ENV_FILE

    def kafka_client_options(self) -> dict[str, Any]:
        """Connection options in the spelling kafka-python and aiokafka share."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            options["sasl_mechanism"] = self.kafka_sasl_mechanism
            options["sasl_plain_username"] = self.kafka_sasl_username
            options["sasl_plain_password"] = (
                self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
            )
        return options


def env_name(field: str) -> str:
    """The environment variable that sets a field."""
    return f"{ENV_PREFIX}{field.upper()}"


def load_settings(**overrides: Any) -> VeilleSettings:
    """Read settings from the environment, then from the embedded infrastructure's env file.

    Real environment variables win over the file `veille infra up` writes, and over
    secret files: one file per setting, named like its variable (VEILLE_WEBHOOK_SECRET),
    in `$VEILLE_SECRETS_DIR` or /run/secrets (Docker and Kubernetes secrets). A bad
    value raises `SettingsError` naming the variable to fix.
    """
    secrets = Path(os.environ.get(f"{ENV_PREFIX}SECRETS_DIR") or "/run/secrets")
    if secrets.is_dir():
        overrides.setdefault("_secrets_dir", secrets)
    try:
        base = VeilleSettings(**overrides)
        if base.infra_env_file.is_file():
            return VeilleSettings(_env_file=base.infra_env_file, **overrides)
        return base
    except ValidationError as error:
        lines = []
        for issue in error.errors():
            field = str(issue["loc"][0]) if issue["loc"] else "?"
            secret = any(word in field for word in ("password", "secret", "token", "key"))
            shown = "<hidden>" if secret else repr(issue.get("input"))
            lines.append(f"{env_name(field)}={shown}: {issue['msg']}")
        raise SettingsError("bad setting: " + "; ".join(lines)) from None
