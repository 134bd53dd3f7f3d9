"""What Kubernetes accepts in the values kit writes into manifests: object names, image references, quantities.

``kit deploy`` and ``kit sweep --emit-k8s`` check every value here before they write a file: strict schema
validation checks the fields' names and types, not these values, and ``kubectl apply`` (or the kubelet, for an
image) would refuse them. The rules are those of Kubernetes' own validation (k8s.io/apimachinery
``validation.IsDNS1123Label`` and friends, ``resource.ParseQuantity``) and of the image reference grammar the
kubelet parses (distribution/reference). Each check gives the problem as a short phrase, or None: the callers
say which option to change.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from kit.shorten import shown


class Name(Enum):
    """The kinds of names Kubernetes checks, each with its pattern, its longest length and how to say it."""

    #: Most objects' names: ConfigMap, Deployment, PersistentVolumeClaim, HorizontalPodAutoscaler, ...
    SUBDOMAIN = (r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", 253, "a DNS-1123 subdomain")
    #: Containers, volumes, Jobs (their pods' host names are NAME-INDEX).
    LABEL = (r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", 63, "a DNS-1123 label")
    #: Services: their name is a DNS name in the cluster, and must start with a letter.
    DNS1035 = (r"[a-z]([-a-z0-9]*[a-z0-9])?", 63, "a DNS-1035 label")

    def __init__(self, pattern: str, limit: int, said: str) -> None:
        self.pattern, self.limit, self.said = re.compile(pattern), limit, said


#: The kind of name each kind of object needs (others: a subdomain).
NAMES = {"Service": Name.DNS1035, "Job": Name.LABEL}


def name_problem(name: Any, kind: Name = Name.SUBDOMAIN) -> str | None:
    """Why ``name`` cannot name an object of this ``kind`` of name, or None."""
    rule = f"{kind.said}: lower-case letters, digits and '-'{', and dots' if kind is Name.SUBDOMAIN else ''}"
    if not isinstance(name, str) or not name:
        return f"is empty: it must be {rule}"
    if len(name) > kind.limit:
        return f"is {len(name)} characters long: it must be {kind.said} of at most {kind.limit}"
    if not kind.pattern.fullmatch(name):
        start = "start with a letter and " if kind is Name.DNS1035 else "start and "
        return f"is not {rule}, that must {start}end with a letter or digit"
    return None


def name_from(text: str, suffix: str) -> str:
    """A DNS-1035 label (so a name of every kind) made of any text and a ``suffix`` that says what it names.

    ``Diagnosis`` and "model" give ``diagnosis-model``; ``2024 Übung_MODEL (v2)`` gives ``model-2024-ubung-model-v2``
    (the suffix goes first when the text does not start with a letter).
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[: Name.DNS1035.limit - len(suffix) - 1].strip("-")
    if not words:
        return suffix
    return f"{words}-{suffix}" if words[0].isalpha() else f"{suffix}-{words}"


# Labels and annotations (k8s.io/apimachinery IsQualifiedName, IsValidLabelValue)
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def label_value_problem(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        return "is not a label value: at most 63 letters, digits, '-', '_' and '.', with a letter or digit at each end"
    return None


def key_problem(key: Any) -> str | None:
    """Why ``key`` cannot be a label's or an annotation's key (``[prefix/]name``), or None."""
    prefix, _, name = key.rpartition("/") if isinstance(key, str) else ("", "", "")
    if not name or len(name) > 63 or not _QUALIFIED.fullmatch(name) or (prefix and name_problem(prefix)):
        return "is not a key: [a DNS subdomain/]a name of at most 63 letters, digits, '-', '_' and '.'"
    return None


def port_name_problem(name: Any) -> str | None:
    """Why ``name`` cannot name a port (an IANA service name), or None."""
    if not isinstance(name, str) or len(name) > 15 or not Name.LABEL.pattern.fullmatch(name) or "--" in name:
        return "is not a port name: at most 15 lower-case letters, digits and '-', with a letter"
    if not re.search("[a-z]", name):
        return "is not a port name: at most 15 lower-case letters, digits and '-', with a letter"
    return None


# Images: the grammar of distribution/reference (reference/regexp.go), which the kubelet parses.
_ALPHANUMERIC = r"[a-z0-9]+"
_PATH = rf"{_ALPHANUMERIC}(?:(?:[._]|__|-+){_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_NAME = rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH}(?:/{_PATH})*"
_TAG = r"\w[\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::{_TAG})?(?:@{_DIGEST})?", re.ASCII)
#: The longest repository name the grammar allows.
MAX_IMAGE_NAME = 255


def image_problem(reference: Any) -> str | None:
    """Why ``reference`` is not an image a kubelet can pull (``[registry[:port]/]path[:tag][@digest]``), or None."""
    if not isinstance(reference, str) or not reference.strip():
        return "is empty"
    found = _REFERENCE.fullmatch(reference)
    if not found:
        blank = next((character for character in reference if character.isspace()), None)
        if blank is not None:
            return f"holds white space ({shown(blank)})"
        if any(character.isupper() for character in reference.split("/")[-1].split(":")[0]):
            return "has upper-case letters in its repository (they must be lower-case)"
        return "is not an image reference"
    if len(found["name"]) > MAX_IMAGE_NAME:
        return f"has a name longer than {MAX_IMAGE_NAME} characters"
    return None


# Quantities: k8s.io/apimachinery/pkg/api/resource (quantity.go), <signedNumber><suffix>.
_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
#: Kubernetes keeps a quantity as a 64-bit integer of its smallest unit (milli-units at most).
MAX_QUANTITY = Decimal(2**63 - 1) / 1000


def quantity(text: Any) -> Decimal | None:
    """The value of a Kubernetes quantity (``500m``, ``1.5``, ``512Mi``, ``1e3``), or None if it is not one."""
    found = _QUANTITY.fullmatch(text) if isinstance(text, str) else None
    if not found:
        return None
    number, suffix = found[1], found[2] or ""
    try:
        if suffix in _BINARY:
            return Decimal(number) * 1024 ** _BINARY[suffix]
        exponent = _DECIMAL[suffix] if suffix in _DECIMAL else int(suffix[1:])
        return Decimal(number).scaleb(exponent)
    except (InvalidOperation, ValueError):  # an exponent beyond what a Decimal holds
        return None


def quantity_problem(text: Any, smallest: str = "1m") -> str | None:
    """Why ``text`` is not a quantity Kubernetes takes of at least ``smallest`` (a quantity too), or None."""
    value = quantity(text)
    if value is None:
        return "is not a Kubernetes quantity"
    if value <= 0:
        return "is not above 0"
    if value < quantity(smallest):
        return f"is below {smallest}"
    if value > MAX_QUANTITY:
        return "is too large for a pod"
    return None


# A whole manifest


def _labels(labels: Any, where: str) -> list[str]:
    found = []
    for key, value in (labels or {}).items():
        if problem := key_problem(key):
            found.append(f"{where} key {shown(key)} {problem}")
        if problem := label_value_problem(value):
            found.append(f"{where}[{key}] {shown(value)} {problem}")
    return found


def _named(value: Any, where: str, kind: Name = Name.SUBDOMAIN) -> list[str]:
    problem = name_problem(value, kind)
    return [f"{where} {shown(value)} {problem}"] if problem else []


def _metadata(metadata: dict, where: str, kind: Name | None) -> list[str]:
    found = _named(metadata.get("name"), f"{where}.name", kind) if kind else []
    found += _labels(metadata.get("labels"), f"{where}.labels")
    for key in metadata.get("annotations") or {}:
        if problem := key_problem(key):
            found.append(f"{where}.annotations key {shown(key)} {problem}")
    return found


def _resources(resources: dict, where: str) -> list[str]:
    found = []
    for group in ("requests", "limits"):
        for resource, value in (resources.get(group) or {}).items():
            if problem := quantity_problem(value):
                found.append(f"{where}.{group}.{resource} {shown(value)} {problem}")
    return found


def _pod(spec: dict, where: str) -> list[str]:
    found = []
    for index, container in enumerate(spec.get("containers") or []):
        at = f"{where}.containers[{index}]"
        found += _named(container.get("name"), f"{at}.name", Name.LABEL)
        if problem := image_problem(container.get("image")):
            found.append(f"{at}.image {shown(container.get('image'))} {problem}")
        for port in container.get("ports") or []:
            if "name" in port and (problem := port_name_problem(port["name"])):
                found.append(f"{at}.ports name {shown(port['name'])} {problem}")
        found += _resources(container.get("resources") or {}, f"{at}.resources")
        for mount in container.get("volumeMounts") or []:
            found += _named(mount.get("name"), f"{at}.volumeMounts name", Name.LABEL)
    for index, volume in enumerate(spec.get("volumes") or []):
        at = f"{where}.volumes[{index}]"
        found += _named(volume.get("name"), f"{at}.name", Name.LABEL)
        if "configMap" in volume:
            found += _named(volume["configMap"].get("name"), f"{at}.configMap.name")
        if "persistentVolumeClaim" in volume:
            found += _named(volume["persistentVolumeClaim"].get("claimName"), f"{at}.persistentVolumeClaim.claimName")
    return found


def problems(document: dict) -> list[str]:
    """Every value of a manifest (of the kinds kit writes) that Kubernetes would refuse, each with where it is."""
    kind = document.get("kind", "")
    if "metadata" not in document:  # a kustomization: no object of its own
        return []
    found = _metadata(document["metadata"], f"{kind} metadata", NAMES.get(kind, Name.SUBDOMAIN))
    spec = document.get("spec") or {}
    selector = spec.get("selector")
    if isinstance(selector, dict):
        found += _labels(selector.get("matchLabels", selector if kind == "Service" else {}), f"{kind} selector")
    template = spec.get("template") or {}
    found += _metadata(template.get("metadata") or {}, f"{kind} template metadata", None)
    found += _pod(template.get("spec") or {}, f"{kind} pod")
    if "scaleTargetRef" in spec:
        found += _named(spec["scaleTargetRef"].get("name"), f"{kind} scaleTargetRef.name")
    if "resources" in spec:
        found += _resources(spec["resources"], f"{kind} resources")
    for key in document.get("data") or {}:
        if not re.fullmatch(r"[-._a-zA-Z0-9]{1,253}", key):
            found.append(f"{kind} data key {shown(key)} is not a key: letters, digits, '-', '_' and '.'")
    return found
