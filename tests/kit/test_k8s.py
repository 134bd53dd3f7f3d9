"""kit.k8s: what Kubernetes accepts, against examples from its documentation and its validation code's tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kit import k8s
from tests.utils.kubernetes import invalid_names

IMAGES_ACCEPTED = [
    "kit",
    "kit:latest",
    "registry.example/diagnosis:1",
    "localhost:5000/team/kit:1.0-rc_1",
    "[::1]:5000/kit",
    "Registry.Example.COM/kit",  # a registry's host name may have capitals, a repository not
    "kit@sha256:" + "a" * 64,
    "kit:1@sha256:" + "0" * 64,
    "a__b/c-d/e.f",
]
IMAGES_REFUSED = {
    "": "is empty",
    " ": "is empty",
    "kit latest": "holds white space",
    "kit:1\n": "holds white space",
    "Kit:1": "upper-case letters",
    "team/Kit": "upper-case letters",
    "kit:": "is not an image reference",
    "kit::1": "is not an image reference",
    "kit:1:2": "is not an image reference",
    "-kit": "is not an image reference",
    "kit-": "is not an image reference",
    "kit@sha256:abc": "is not an image reference",
    "https://registry/kit": "is not an image reference",
    "kit:" + "t" * 129: "is not an image reference",
    "k" * 256: "longer than 255",
}


@pytest.mark.parametrize("image", IMAGES_ACCEPTED)
def test_an_image_reference_is_accepted(image):
    assert k8s.image_problem(image) is None


@pytest.mark.parametrize(("image", "problem"), IMAGES_REFUSED.items(), ids=repr)
def test_an_image_reference_is_refused(image, problem):
    assert problem in k8s.image_problem(image)


@pytest.mark.parametrize(
    ("text", "value"),
    [("500m", "0.5"), ("1", "1"), ("+2", "2"), (".5", "0.5"), ("5.", "5"), ("512Mi", 512 * 2**20), ("1Gi", 2**30),
     ("1k", 1000), ("1M", 10**6), ("1e3", 1000), ("1E3", 1000), ("2E", 2 * 10**18), ("1.5Ki", 1536)],
)  # fmt: skip
def test_quantities_read_as_kubernetes_reads_them(text, value):
    assert k8s.quantity(text) == Decimal(value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [*((text, "not a Kubernetes quantity") for text in ("", "abc", "1GiB", "1.5.5", "nan", "1 Gi", "1e99999999999")),
     ("0", "is not above 0"), ("-1", "is not above 0"), ("0.0001", "is below 1m"), ("1e30", "too large")],
)  # fmt: skip
def test_quantities_refused(text, problem):
    assert problem in k8s.quantity_problem(text)


@pytest.mark.parametrize(
    ("name", "kind", "valid"),
    [("model", k8s.Name.DNS1035, True), ("2024-model", k8s.Name.DNS1035, False), ("2024-model", k8s.Name.LABEL, True),
     ("a.b", k8s.Name.LABEL, False), ("a.b", k8s.Name.SUBDOMAIN, True), ("Runs_Claim!", k8s.Name.SUBDOMAIN, False),
     ("-a", k8s.Name.SUBDOMAIN, False), ("a-", k8s.Name.LABEL, False), ("", k8s.Name.LABEL, False),
     ("a" * 63, k8s.Name.LABEL, True), ("a" * 64, k8s.Name.LABEL, False), ("a" * 253, k8s.Name.SUBDOMAIN, True),
     ("a" * 254, k8s.Name.SUBDOMAIN, False)],
)  # fmt: skip
def test_names_by_kind(name, kind, valid):
    assert (k8s.name_problem(name, kind) is None) is valid


@pytest.mark.parametrize("text", ["2024 Übung_MODEL (v2)", "Diagnosis", "---", "日本語", "9", "a" * 300, "x--y"])
def test_a_name_made_from_any_text_is_a_dns_1035_label(text):
    name = k8s.name_from(text, "model")
    assert k8s.name_problem(name, k8s.Name.DNS1035) is None and "model" in name


def test_the_whole_manifest_check_has_teeth():
    """What the schema accepts and a cluster refuses: each is found, with where it is."""
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "2024-bung-model-v2--model",
               "labels": {"app": "a b"}}, "spec": {"selector": {"app": "x!"}}}  # fmt: skip
    job = {"kind": "Job", "metadata": {"name": "job"}, "spec": {"template": {"spec": {
        "containers": [{"name": "Point", "image": "kit latest", "resources": {"requests": {"cpu": "0"}},
                        "ports": [{"name": "8080"}]}],
        "volumes": [{"name": "runs", "persistentVolumeClaim": {"claimName": "Runs_Claim!"}}]}}}}  # fmt: skip
    found = k8s.problems(service) + k8s.problems(job)
    wanted = ["Service metadata.name", "Service metadata.labels[app]", "Service selector[app]",
              "Job pod.containers[0].name", "Job pod.containers[0].image", "requests.cpu", "ports name",
              "persistentVolumeClaim.claimName"]  # fmt: skip
    assert [any(where in problem for problem in found) for where in wanted] == [True] * len(wanted), found
    assert len(invalid_names(service)) == 2 and len(invalid_names(job)) == 2  # the tests' own rules agree
