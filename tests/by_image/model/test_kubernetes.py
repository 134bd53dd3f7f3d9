"""The Kubernetes manifests of `kit deploy`, short of a cluster (none can run here: no registry, no kube-apiserver).

They are valid against the Kubernetes schemas of 1.29 and 1.33 in strict mode, offline (kubernetes-validate bundles
them), and they fit the real model image: its user satisfies the securityContext, the container's command starts
the server under the manifest's restrictions, and every probe's path and port answers on it.
"""

from __future__ import annotations

import subprocess

import docker
import kubernetes_validate
import pytest
import yaml

from tests.utils.containers import host_port, wait_for
from tests.utils.http import get

VERSIONS = ["1.29.0", "1.33.0"]


@pytest.fixture(scope="module")
def manifests(trained, kit_image, image) -> dict[str, dict]:
    """`kit deploy` of the diagnosis run for its model image, run in the kit image; the manifests by kind."""
    command = ["docker", "run", "--rm", "-v", f"{trained}:/runs", "-e", "KIT_RUNS_DIR=/runs", kit_image,
               "kit", "deploy", "diagnosis", "--image", image, "-o", "/runs/k8s"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    found = {}
    kustomization = yaml.safe_load((trained / "k8s" / "kustomization.yaml").read_text())
    for name in [*kustomization["resources"], "kustomization.yaml"]:  # alerts.yaml is Prometheus', not Kubernetes'
        manifest = yaml.safe_load((trained / "k8s" / name).read_text())
        found[manifest["kind"]] = manifest
    return found


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"])
def test_valid_against_the_kubernetes_schema_in_strict_mode(manifests, kind, version):
    kubernetes_validate.validate(manifests[kind], version, strict=True)  # raises ValidationError when invalid


def test_strict_validation_has_teeth(manifests):
    broken = yaml.safe_load(yaml.safe_dump(manifests["Deployment"]))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/typo"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_the_deployment_asks_for_what_a_service_needs(manifests):
    deployment = manifests["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] == 2
    assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}  # fmt: skip
    assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert manifests["HorizontalPodAutoscaler"]["apiVersion"] == "autoscaling/v2"
    assert manifests["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    assert manifests["Service"]["spec"]["ports"][0]["targetPort"] == "http"


def test_the_pods_read_their_bearer_tokens_from_a_secret(manifests):
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    assert volumes["tokens"]["secret"] == {"secretName": "train-tabular-model-tokens", "defaultMode": 0o440}
    assert mounts["tokens"]["readOnly"] is True
    (variable,) = [item for item in container["env"] if item["name"] == "KIT_SERVE_TOKEN_FILE"]
    assert variable["value"] == f"{mounts['tokens']['mountPath']}/tokens"
    probes = {container[probe]["httpGet"]["path"] for probe in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert probes <= {"/v2/health/ready", "/v2/health/live"}  # open without a token


def test_the_manifests_container_runs_on_the_real_image(manifests, docker_client, image):
    """As the kubelet would start it: the manifest's command, user, read-only root, no capabilities, /tmp a tmpfs."""
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = pod["securityContext"]
    user = docker_client.images.get(image).attrs["Config"]["User"]
    assert user.isdigit() and int(user) == security["runAsUser"] != 0  # runAsNonRoot holds for the image's user
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    started = docker_client.containers.run(
        container["image"],
        container["command"],
        detach=True,
        user=f"{security['runAsUser']}:{security['runAsGroup']}",
        read_only=True,
        tmpfs={mount["mountPath"]: "" for mount in container["volumeMounts"]},
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        ports={f"{port}/tcp": ("127.0.0.1", None) for port in ports.values()},
    )
    try:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            action = container[probe]["httpGet"]
            port = host_port(started, f"{ports[action['port']]}/tcp")
            url = f"http://127.0.0.1:{port}{action['path']}"
            wait_for(lambda url=url: get(url, timeout=2)[0] == 200, 60, f"{probe} at {action['path']}", started)
        pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
        assert started.exec_run(pre_stop).exit_code == 0  # the pause before SIGTERM runs in the image
    finally:
        try:
            started.remove(force=True)
        except docker.errors.NotFound:
            pass
