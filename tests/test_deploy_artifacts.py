"""deploy/: the Kubernetes manifests pass kubernetes-validate (Kubernetes' own schemas, bundled: no network),
the compose file passes the Compose Specification's schema (check-jsonschema's bundled copy), and both
agree with the image and the bot: port, probes, user, key file, replicas, Redis persistence.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.keys_cli import IMAGE_USER
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBERNETES = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
KUBERNETES_VERSION = "1.29.0"  # the oldest release the manifests are checked against (PodDisruptionBudget policy/v1, ...)
TOOLS = Path(sys.executable).parent


def _validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    command = [TOOLS / "kubernetes-validate", "--strict", "--kubernetes-version", KUBERNETES_VERSION, *paths]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _manifests() -> dict[str, Any]:
    return {doc["kind"]: doc for path in KUBERNETES for doc in yaml.safe_load_all(path.read_text())}


def test_the_kubernetes_manifests_pass_the_kubernetes_schemas() -> None:
    assert {p.name for p in KUBERNETES} == {"deployment.yaml", "service.yaml", "poddisruptionbudget.yaml"}
    result = _validate(*KUBERNETES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(KUBERNETES)


def test_the_validator_catches_a_misspelt_field(tmp_path: Path) -> None:
    broken = tmp_path / "deployment.yaml"
    broken.write_text((DEPLOY / "kubernetes" / "deployment.yaml").read_text().replace("readinessProbe", "readynessProbe"))
    result = _validate(broken)
    assert result.returncode != 0 and "readynessProbe" in result.stdout + result.stderr


def test_the_deployment_probes_runs_and_mounts_what_the_bot_needs() -> None:
    manifests = _manifests()
    deployment = manifests["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    [port] = container["ports"]
    assert port == {"name": "http", "containerPort": 3000}  # the image's EXPOSE and CMD
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert deployment["spec"]["replicas"] >= 2
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == IMAGE_USER
    # the key: a Secret's files belong to root and the fsGroup, so the group must be able to read it
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert pod["securityContext"]["fsGroup"] == IMAGE_USER[1]
    assert volumes["okta-key"]["secret"]["defaultMode"] == 0o440
    assert Path(env["OKTA_PRIVATE_KEY"]).parent == Path(mounts["okta-key"])
    assert Path(env["POLICY_FILE"]).parent == Path(mounts["policy"])
    assert [source["secretRef"]["name"] for source in container["envFrom"]] == ["okta-chatops-env"]
    assert set(env) | {"OKTA_PRIVATE_KEY"} <= {name.upper() for name in Settings.model_fields}
    # the replicas' label is what the Service and the PodDisruptionBudget select
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert manifests["Service"]["spec"]["selector"] == labels
    assert manifests["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    assert manifests["PodDisruptionBudget"]["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_the_compose_file_passes_the_compose_specification() -> None:
    compose = DEPLOY / "docker-compose.yml"
    command = [TOOLS / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", compose]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_file_runs_two_replicas_on_one_persistent_redis_behind_the_proxy() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    bots = {name: s for name, s in services.items() if s.get("image", "").startswith("okta-chatops")}
    assert len(bots) == 2
    assert len({s["hostname"] for s in bots.values()}) == 2  # the alert workers' consumer names differ
    for bot in bots.values():
        assert bot["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        [secret] = bot["secrets"]
        assert bot["environment"]["OKTA_PRIVATE_KEY"] == f"/run/secrets/{secret}"
        assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
        assert bot["init"] is True
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command and "--appendfsync everysec" in redis_command
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy (.+) \{", caddyfile)
    assert upstreams and sorted(upstreams.group(1).split()) == sorted(f"{name}:3000" for name in bots)
    assert "health_uri /readyz" in caddyfile and "respond @internal 404" in caddyfile


def _env_file(path: Path) -> dict[str, str]:
    """The file as docker's --env-file reads it: VAR=value lines, taken literally."""
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_the_env_example_means_the_same_to_docker_compose_and_a_shell(tmp_path: Path) -> None:
    example = DEPLOY / "okta-chatops.env.example"
    literal = _env_file(example)
    assert set(literal) <= {name.upper() for name in Settings.model_fields}
    shell = subprocess.run(
        ["bash", "-c", f'set -a; . "{example}"; env -0'], capture_output=True, text=True, check=True, env={}
    )
    sourced = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    assert {name: sourced.get(name) for name in literal} == literal
    # the scopes line, commented out, also sources as one value
    scopes = next(line.lstrip("# ") for line in example.read_text().splitlines() if "OKTA_SCOPES=" in line)
    assert " " not in scopes and "," in scopes


@pytest.mark.parametrize("path", [DEPLOY / "docker-compose.yml", *KUBERNETES, DEPLOY / "prometheus" / "prometheus.yml"])
def test_every_file_names_a_pinned_image(path: Path) -> None:
    images = re.findall(r"image: (\S+)", path.read_text())
    for image in images:
        assert re.search(r":v?\d+\.\d+\.\d+", image), f"{image}: pin a version"
