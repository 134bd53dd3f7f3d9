"""Kubernetes' rules for names, written out from its validation code, to check manifests kit wrote.

Strict schema validation (kubernetes-validate) checks fields and types, not names: an API server refuses a Service
named ``2024-model`` (not a DNS-1035 label), which the schema accepts. These are independent of kit's own checks
(kit/k8s.py), so that a mistake there is not repeated here.
"""

from __future__ import annotations

import re
from typing import Any

# k8s.io/apimachinery/pkg/util/validation/validation.go
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def label(name: Any) -> bool:
    return isinstance(name, str) and len(name) <= 63 and bool(DNS1123_LABEL.match(name))


def subdomain(name: Any) -> bool:
    return isinstance(name, str) and len(name) <= 253 and bool(DNS1123_SUBDOMAIN.match(name))


def dns1035(name: Any) -> bool:
    return isinstance(name, str) and len(name) <= 63 and bool(DNS1035_LABEL.match(name))


#: What each kind's metadata.name must be (pkg/apis/*/validation): a Service's is a DNS name in the cluster; a
#: Job's becomes a label value (batch.kubernetes.io/job-name) and its pods' host names.
KINDS = {"Service": dns1035, "Job": label}


def invalid_names(document: dict) -> list[str]:
    """Every name in a manifest of the kinds kit writes that an API server would refuse."""
    found = []
    kind = document.get("kind")
    if "metadata" in document and not KINDS.get(kind, subdomain)(document["metadata"].get("name")):
        found.append(f"{kind} metadata.name {document['metadata'].get('name')!r}")
    spec = document.get("spec") or {}
    template = spec.get("template") or {}
    for metadata in (document.get("metadata") or {}, template.get("metadata") or {}):
        for key, value in (metadata.get("labels") or {}).items():
            if len(value) > 63 or not LABEL_VALUE.match(value):
                found.append(f"{kind} label {key}={value!r}")
    pod = template.get("spec") or {}
    for container in pod.get("containers") or []:
        if not label(container["name"]):
            found.append(f"{kind} container {container['name']!r}")
        for mount in container.get("volumeMounts") or []:
            if not label(mount["name"]):
                found.append(f"{kind} volume mount {mount['name']!r}")
    for volume in pod.get("volumes") or []:
        if not label(volume["name"]):
            found.append(f"{kind} volume {volume['name']!r}")
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        config = (volume.get("configMap") or {}).get("name")
        for name in (claim, config):
            if name is not None and not subdomain(name):
                found.append(f"{kind} volume {volume['name']!r} refers to {name!r}")
    target = (spec.get("scaleTargetRef") or {}).get("name")
    if target is not None and not subdomain(target):
        found.append(f"{kind} scaleTargetRef {target!r}")
    return found
