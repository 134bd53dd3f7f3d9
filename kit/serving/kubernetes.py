"""The Kubernetes manifests that run a model image (``kit deploy``): a kustomize base to ``kubectl apply -k``.

A Deployment (two replicas; startup, readiness and liveness probes on the protocol's health endpoints; requests
and limits; non-root, read-only root file system, no capabilities; a preStop pause so that endpoints drop the pod
before it stops taking connections), a Service, a HorizontalPodAutoscaler on CPU, a PodDisruptionBudget, and
Prometheus' scrape annotations; the bearer tokens from a Secret (``NAME-tokens``, see :func:`token_secret`),
so that only clients with a token reach the model (the health probes stay open). The command is the model image's
own: ``kit serve`` of the run inside it, on port 8080.

Every value is checked before a file is written (:mod:`kit.k8s`): the image reference, the quantities, every name
(made from the notebook's name as a DNS-1035 label, which a Service needs). The folder may exist; a manifest
already in it is never replaced (unless it is the same), so that edits are not lost.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kit import k8s, plainyaml, settings
from kit.errors import ManifestError, OutputError
from kit.record import lineage
from kit.record.jsonfile import write_text
from kit.serving import monitoring, server
from kit.serving.model import ServedModel

PORT = 8080
#: The model image's user (images/model/Dockerfile); the image names its run in $KIT_MODEL_RUN.
UID = 1000
FILES = ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "kustomization.yaml")
#: Beside the manifests, not in the kustomization: Prometheus' rules, a Grafana dashboard (kit.serving.monitoring).
ALERTS, DASHBOARD = "alerts.yaml", "dashboard.json"
MAX_REPLICAS = 100
#: The smallest memory a container runtime starts a container with (runc refuses less than 6 MiB).
SMALLEST_MEMORY = "6Mi"
#: Where the pods find the Secret of bearer tokens (the file ``tokens`` in it): see :func:`token_secret`.
TOKENS_DIR, TOKENS_KEY = "/var/run/secrets/kit", "tokens"


def token_secret(served: ServedModel) -> str:
    """The Secret of the model server's bearer tokens, one a line (several while rotating).

    Created by the cluster's operator: ``kubectl create secret generic NAME-tokens --from-file=tokens=FILE``.
    """
    return f"{k8s.name_from(served.name, 'model')}-tokens"


def check_options(image: str, *, replicas: int = 2, cpu: str = "500m", memory: str = "512Mi") -> None:
    """ManifestError for an option Kubernetes would refuse: the image reference, the replicas, the quantities."""
    checks = (
        ("--image", image, k8s.image_problem(image),
         "pass the model image as [REGISTRY/]NAME[:TAG], lower-case, such as registry.example/diagnosis:1"),
        ("--cpu", cpu, k8s.quantity_problem(cpu), "pass the CPU cores each pod gets as a quantity such as 500m or 2"),
        ("--memory", memory, k8s.quantity_problem(memory, SMALLEST_MEMORY),
         "pass the memory each pod gets as a quantity such as 512Mi or 2Gi"),
    )  # fmt: skip
    for option, value, problem, fix in checks:
        if problem:
            raise ManifestError(option, value, problem, fix)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= MAX_REPLICAS:
        raise ManifestError("--replicas", replicas, f"is not from 1 to {MAX_REPLICAS}", "pass a whole number, e.g. 2")


def manifests(served: ServedModel, image: str, *, replicas: int = 2, max_replicas: int = 10, cpu: str = "500m",
              memory: str = "512Mi") -> dict[str, list[dict] | dict]:  # fmt: skip
    """The manifests by file name, as plain data; ManifestError for a value Kubernetes would refuse."""
    check_options(image, replicas=replicas, cpu=cpu, memory=memory)
    if problem := server.name_problem(served.name):  # the image's `kit serve` would refuse it: pods would crash
        raise ManifestError("the model's name", served.name, problem, "rename the notebook, and train it again")
    name = k8s.name_from(served.name, "model")
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "model-server",
              "app.kubernetes.io/part-of": "kit"}  # fmt: skip
    scrape = {"prometheus.io/scrape": "true", "prometheus.io/port": str(PORT), "prometheus.io/path": "/metrics"}
    run = {"kit.dev/run-id": served.run.id, "kit.dev/model-sha256": served.sha256}
    if served.lineage_sha256:
        run[lineage.ANNOTATION] = served.lineage_sha256

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
        "env": [{"name": settings.SERVE_TOKEN_FILE_ENV, "value": f"{TOKENS_DIR}/{TOKENS_KEY}"}],
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "tokens", "mountPath": TOKENS_DIR, "readOnly": True},
        ],  # fmt: skip
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
                    "volumes": [
                        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                        # The bearer tokens (kit serve --token-file): a Secret the cluster's operator creates, never
                        # a file of this folder. Readable by the server's group only (fsGroup), writable by nobody.
                        {"name": "tokens", "secret": {"secretName": token_secret(served), "defaultMode": 0o440}},
                    ],
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
    found = dict(zip(FILES, (deployment, service, hpa, pdb, kustomization), strict=True))
    for manifest in found.values():
        for problem in k8s.problems(manifest):  # a bug if it happens: every value above was checked or made valid
            raise ManifestError("the manifests", served.name, f"would be refused by Kubernetes ({problem})",
                                "report it, with the run's notebook name")  # fmt: skip
    return found


def _existing(folder: Path, texts: dict[str, str]) -> list[str]:
    """The files of ``texts`` that ``folder`` already holds with the same text (OutputError if another)."""
    option, fix = "-o", "pass a new folder, or move the manifests there away first"
    try:
        if folder.exists() and not folder.is_dir():
            raise OutputError(option, folder, "is a file", "pass a folder for the manifests (made if missing)")
        existing = folder
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise OutputError(option, folder, f"cannot be made: {existing} is a file", "pass another folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise OutputError(option, folder, "cannot be written (permission denied)", "pass a folder of yours")
        same = []
        for file, text in texts.items():
            path = folder / file
            if path.exists() or path.is_symlink():
                if not path.is_file() or path.read_bytes() != text.encode():
                    raise OutputError(
                        option, folder, f"already holds another {file} (kit deploy never replaces one)", fix
                    )
                same.append(file)
        return same
    except OSError as error:
        raise OutputError(option, folder, f"cannot be used ({error.strerror})", "pass another folder") from None


def write(served: ServedModel, image: str, folder: str | os.PathLike, **options) -> list[Path]:
    """Write the manifests into ``folder`` (made if missing) and return their paths.

    Nothing is written when a value or the folder is refused (KitError); a manifest already there is never replaced
    by another.
    """
    folder = Path(folder)
    header = f"# Made by `kit deploy` for run {served.run.id}: edit it, or make it again into a new folder.\n"
    texts = {file: header + plainyaml.dump(manifest) for file, manifest in manifests(served, image, **options).items()}
    name = k8s.name_from(served.name, "model")  # the Deployment's
    texts[ALERTS] = header + plainyaml.dump(monitoring.rules(name))
    texts[DASHBOARD] = json.dumps(monitoring.dashboard(name), indent=2) + "\n"
    same = _existing(folder, texts)
    made = [path for path in (folder, *folder.parents) if not path.exists()]
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file, text in texts.items():
            if file not in same:
                write_text(folder / file, text)
                written.append(folder / file)
    except OSError as error:  # the disk filled up, say: what was written goes, nothing half-done stays
        for path in written:
            path.unlink(missing_ok=True)
        for path in made:
            try:
                path.rmdir()
            except OSError:
                pass
        raise OutputError(
            "-o", folder, f"cannot be written ({error.strerror})", "pass a folder you can write"
        ) from None
    return [folder / file for file in texts]
