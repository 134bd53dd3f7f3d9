"""The Kubernetes manifests that run a model image (``kit deploy``): a kustomize base to ``kubectl apply -k``.

A Deployment (two replicas; startup, readiness and liveness probes on the protocol's health endpoints; requests
and limits; non-root, read-only root file system, no capabilities; a preStop pause so that endpoints drop the pod
before it stops taking connections), a Service, a HorizontalPodAutoscaler on CPU, a PodDisruptionBudget, and
Prometheus' scrape annotations. The command is the model image's own: ``kit serve`` of the run inside it, on port 8080.
"""

from __future__ import annotations

import os
from pathlib import Path

from kit.record.jsonfile import write_text
from kit.serving.model import ServedModel

PORT = 8080
#: The model image's user (images/model/Dockerfile); the image names its run in $KIT_MODEL_RUN.
UID = 1000
FILES = ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "kustomization.yaml")


def _name(text: str) -> str:
    """A DNS-1123 label: lower case, digits and '-', at most 63 characters."""
    import re

    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:50].strip("-")
    return name or "model"


def manifests(served: ServedModel, image: str, *, replicas: int = 2, max_replicas: int = 10, cpu: str = "500m",
              memory: str = "512Mi") -> dict[str, list[dict] | dict]:  # fmt: skip
    """The manifests by file name, as plain data."""
    name = _name(f"{served.name}-model")
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "model-server",
              "app.kubernetes.io/part-of": "kit"}  # fmt: skip
    scrape = {"prometheus.io/scrape": "true", "prometheus.io/port": str(PORT), "prometheus.io/path": "/metrics"}
    run = {"kit.dev/run-id": served.run.id, "kit.dev/model-sha256": served.sha256}

    def probe(path: str, period: int, failures: int) -> dict:
        return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period, "failureThreshold": failures,
                "timeoutSeconds": 2}  # fmt: skip

    container = {
        "name": "server",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["tini", "-g", "--", "kit", "serve", "--host", "0.0.0.0", "--port", str(PORT)],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "startupProbe": probe("/v2/health/ready", 2, 60),
        "readinessProbe": probe("/v2/health/ready", 5, 2),
        "livenessProbe": probe("/v2/health/live", 10, 3),
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels, "annotations": run},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels, "annotations": {**scrape, **run}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": UID,
                        "runAsGroup": UID,
                        "fsGroup": UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },  # fmt: skip
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels, "annotations": scrape},
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },  # fmt: skip
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": replicas,
            "maxReplicas": max(max_replicas, replicas),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },  # fmt: skip
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": labels},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}},
    }
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": list(FILES[:-1])}  # fmt: skip
    return dict(zip(FILES, (deployment, service, hpa, pdb, kustomization), strict=True))


def write(served: ServedModel, image: str, folder: str | os.PathLike, **options) -> list[Path]:
    """Write the manifests into ``folder`` (made if missing); their paths."""
    import yaml

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file, manifest in manifests(served, image, **options).items():
        text = f"# Made by `kit deploy` for run {served.run.id}: edit it, or make it again.\n"
        write_text(folder / file, text + yaml.safe_dump(manifest, sort_keys=False))
        written.append(folder / file)
    return written
