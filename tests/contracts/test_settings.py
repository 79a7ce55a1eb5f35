"""One settings model, from VEILLE_* variables; a bad value names the variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from veille_contracts.settings import ENV_PREFIX, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_point_at_the_embedded_infrastructure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert settings.clickhouse_port == 18123
    assert not settings.kafka_enable_idempotence


def test_environment_variables_set_every_service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VEILLE_KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9092,kafka-1:9092")
    monkeypatch.setenv("VEILLE_CLICKHOUSE_URL", "https://ch.internal:8443")
    monkeypatch.setenv("VEILLE_KAFKA_ENABLE_IDEMPOTENCE", "true")
    monkeypatch.setenv("VEILLE_STATE_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.kafka_client_options()["bootstrap_servers"] == "kafka-0:9092,kafka-1:9092"
    assert (settings.clickhouse_host, settings.clickhouse_port, settings.clickhouse_secure) == (
        "ch.internal",
        8443,
        True,
    )
    assert settings.kafka_enable_idempotence


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VEILLE_KAFKA_BOOTSTRAP_SERVERS", "kafka-without-port"),
        ("VEILLE_CLICKHOUSE_URL", "not a url"),
        ("VEILLE_KAFKA_SESSION_TIMEOUT_MS", "soon"),
        ("VEILLE_CLICKHOUSE_DATABASE", "drop table;"),
        ("VEILLE_LOG_LEVEL", "LOUD"),
    ],
)
def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_a_bad_password_value_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("VEILLE_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("VEILLE_KAFKA_SASL_USERNAME", "svc")
    settings = load_settings()
    assert "s3cret" not in repr(settings)
    assert settings.kafka_client_options()["sasl_plain_password"] == "s3cret"


def test_environment_wins_over_the_infra_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "infra.env").write_text("VEILLE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:40001\n")
    monkeypatch.setenv("VEILLE_STATE_DIR", str(tmp_path))
    assert load_settings().kafka_bootstrap_servers == "127.0.0.1:40001"
    monkeypatch.setenv("VEILLE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:40002")
    assert load_settings().kafka_bootstrap_servers == "127.0.0.1:40002"


def test_secrets_come_from_files_never_show_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "VEILLE_WEBHOOK_SECRET").write_text("hmac-from-a-file")
    (secrets / "VEILLE_AUTHOR_KEY").write_text("key-from-a-file")
    monkeypatch.setenv("VEILLE_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("VEILLE_AUTHOR_KEY", "key-from-the-environment")

    settings = load_settings()

    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == "hmac-from-a-file"
    assert settings.author_key.get_secret_value() == "key-from-the-environment"
    shown = f"{settings!r} {settings} {settings.model_dump()} {settings.model_dump_json()}"
    assert "hmac-from-a-file" not in shown and "key-from-the-environment" not in shown
