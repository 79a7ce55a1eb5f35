"""docker-compose.yml and deploy/ cannot run here: check them against schemas and the settings model."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from veille_contracts.settings import ENV_PREFIX, VeilleSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SERVICES = ("ingest", "sentiment", "escalation", "analytics")
_SUBSTITUTION = re.compile(r"\$\{(?P<name>[A-Z_]+)(?::?(?P<op>[?-])(?P<default>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _substituted(value: str) -> str:
    """As compose would with the variable unset: its default, or (when required) a stand-in secret."""
    return _SUBSTITUTION.sub(lambda m: m["default"] if m["op"] == "-" else f"secret-for-{m['name'].lower()}", value)


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_whole_stack(compose: dict[str, Any]) -> None:
    expected = {"kafka", "clickhouse", "grafana", "otel-collector", "topics", *SERVICES}
    assert expected <= set(compose["services"])
    for name, service in compose["services"].items():
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"


def test_every_image_is_pinned_to_a_version(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: image {image!r} is not pinned"
        assert re.match(r"^\d+(\.\d+)+$", tag), f"{name}: tag {tag!r} is not a version"


def test_every_built_service_has_its_dockerfile(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file(), name


@pytest.mark.parametrize("name", [*SERVICES, "topics"])
def test_service_environment_matches_the_settings_model(compose: dict[str, Any], name: str) -> None:
    environment = {k: _substituted(str(v)) for k, v in compose["services"][name]["environment"].items()}
    fields = {f"{ENV_PREFIX}{field.upper()}" for field in VeilleSettings.model_fields}
    unknown = {k for k in environment if k.startswith(ENV_PREFIX)} - fields
    assert not unknown, f"{name}: variables the settings model does not know: {sorted(unknown)}"
    # an empty variable counts as unset, as in the services (env_ignore_empty)
    values = {k.removeprefix(ENV_PREFIX).lower(): v for k, v in environment.items() if k.startswith(ENV_PREFIX) and v}
    settings = VeilleSettings.model_validate(values)
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.clickhouse_host == "clickhouse"
    assert settings.kafka_enable_idempotence, "Apache Kafka supports idempotent producers: keep them on"
    assert settings.service_name == name


def test_secrets_come_from_the_environment_not_the_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET", "KEY")):
                assert _SUBSTITUTION.fullmatch(str(value)), f"{name}: {key} must come from the environment"


def test_provisioning_files_parse_and_grafana_reads_clickhouse_read_only() -> None:
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/clickhouse.yaml").read_text())
    (source,) = datasource["datasources"]
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["jsonData"]["username"] == "veille_reader"
    users = ET.parse(ROOT / "deploy/clickhouse/users.xml").getroot()
    reader = users.find("users/veille_reader")
    assert reader is not None and reader.findtext("profile") == "readonly"
    assert [g.text for g in reader.findall("grants/query")] == ["GRANT SELECT ON veille.*"]


def test_collector_pipelines_use_only_declared_components() -> None:
    config = yaml.safe_load((ROOT / "deploy/otel/collector.yaml").read_text())
    for pipeline in config["service"]["pipelines"].values():
        assert set(pipeline["receivers"]) <= set(config["receivers"])
        assert set(pipeline.get("processors", [])) <= set(config["processors"])
        assert set(pipeline["exporters"]) <= set(config["exporters"])


def _manifests() -> list[dict[str, Any]]:
    paths = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
    return [d for path in paths for d in yaml.safe_load_all(path.read_text()) if d]


def _settings_map(manifests: list[dict[str, Any]]) -> dict[str, str]:
    [found] = [d for d in manifests if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "veille-settings"]
    data: dict[str, str] = found["data"]
    return data


def test_kubernetes_settings_are_valid_settings_and_hold_no_secret() -> None:
    data = _settings_map(_manifests())
    assert not [k for k in data if any(word in k for word in ("PASSWORD", "SECRET", "TOKEN", "KEY"))]
    settings = VeilleSettings.model_validate({k.removeprefix(ENV_PREFIX).lower(): v for k, v in data.items()})
    assert settings.kafka_enable_idempotence and settings.otel_exporter == "otlp"


def test_every_service_is_deployed_with_probes_on_its_own_port_and_a_graceful_stop() -> None:
    from veille_contracts.catalog import topic

    manifests = _manifests()
    data = _settings_map(manifests)
    deployments = {d["metadata"]["name"]: d for d in manifests if d["kind"] == "Deployment"}
    assert set(deployments) == {f"veille-{name}" for name in SERVICES}
    for name in SERVICES:
        pod = deployments[f"veille-{name}"]["spec"]["template"]["spec"]
        [container] = pod["containers"]
        [port] = container["ports"]
        assert port["containerPort"] == int(data[f"VEILLE_{name.upper()}_HTTP_PORT"]), name
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert pod["terminationGracePeriodSeconds"] >= 30 and pod["securityContext"]["runAsNonRoot"]
        assert container["image"] == f"veille/{name}:0.1.0"
    [autoscaler] = [d for d in manifests if d["kind"] == "HorizontalPodAutoscaler"]
    assert autoscaler["spec"]["maxReplicas"] <= topic("mentions-raw").partitions
