"""The lock files: one source of truth, compiled for both architectures, mirrored in environment.yml."""

import re
import tomllib

import pytest
import yaml

from imagebuild import lock
from tests.utils.paths import ROOT


@pytest.mark.parametrize("variant", ["cpu", "cuda"])
def test_lock_matches_its_requirements(variant):
    lock.check(variant)  # raises BuildError, naming `make lock`, when requirements changed since


def test_environment_yml_carries_the_same_pins_as_the_lock():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict))
    assert f"python={lock.PYTHON_VERSION}" in environment["dependencies"]
    assert sorted(pip) == sorted(pin.line() for pin in lock.read("cpu").values())


def test_cpu_lock_covers_x86_64_and_aarch64_with_hashes():
    pins = lock.read("cpu")
    assert pins["tensorflow-cpu"].marker == "platform_machine == 'x86_64'"
    assert pins["tensorflow"].marker == "platform_machine == 'aarch64'"
    assert pins["tensorflow"].version == pins["tensorflow-cpu"].version
    unhashed = [name for name, pin in pins.items() if not any("--hash=sha256:" in line for line in pin.body)]
    assert unhashed == []


def test_cuda_lock_is_tensorflow_with_cuda_and_shares_every_cpu_pin():
    cpu, cuda = lock.read("cpu"), lock.read("cuda")
    assert "tensorflow-cpu" not in cuda
    assert cuda["tensorflow"].version == cpu["tensorflow-cpu"].version
    assert {"nvidia-cudnn-cu12", "nvidia-cublas-cu12"} <= set(cuda)
    shared = set(cpu) & set(cuda)
    assert {name: cuda[name].version for name in shared} == {name: cpu[name].version for name in shared}


def test_merge_marks_single_platform_packages_and_rejects_diverging_versions():
    one = lock.parse("a==1.0 \\\n    --hash=sha256:aa\nb==2.0 \\\n    --hash=sha256:bb\n")
    two = lock.parse("a==1.0 \\\n    --hash=sha256:ab\n")
    merged = lock.merge({"x86_64-manylinux_2_36": one, "aarch64-manylinux_2_36": two})
    assert merged["a"].marker == "" and len(merged["a"].body) == 2
    assert merged["b"].marker == "platform_machine == 'x86_64'"
    with pytest.raises(lock.BuildError, match="pin it in the requirements"):
        lock.merge({"x86_64-manylinux_2_36": one, "aarch64-manylinux_2_36": lock.parse("a==1.1\n")})


def _names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings, normalized as the lock spells them."""
    return {
        re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-") for requirement in requirements
    }


@pytest.mark.parametrize(
    ("declared", "variant"),
    [
        pytest.param("dependencies", "cpu", id="dependencies-in-the-kit-image"),
        pytest.param("ml", "cpu", id="ml-in-the-kit-image"),
        pytest.param("dask", "cpu", id="dask-in-the-kit-image"),
        pytest.param("serve", "cpu", id="serve-in-the-kit-image"),
        pytest.param("serve", "serve", id="serve-in-the-model-image"),
    ],
)
def test_what_pyproject_declares_is_pinned_by_the_lock_of_the_image_that_runs_it(declared, variant):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] if declared == "dependencies" else project["optional-dependencies"][declared]
    assert _names(requirements) - set(lock.read(variant)) == set()
