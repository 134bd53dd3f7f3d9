"""Bad input to `make build`: each stops with one line that says what to do, and tags nothing.

The tooling runs as a real process on a copy of the project, so the copy can be broken without touching ours.
"""

import os
import shutil
import subprocess
import sys
import uuid

import pytest

from imagebuild import images
from tests.utils.paths import ROOT


@pytest.fixture
def project(tmp_path):
    """A copy of what the build tooling reads, so that a test can break it: the tooling, every image's
    Dockerfile and the requirements; no wheelhouse."""
    for name in ("tools/imagebuild", "requirements"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for image in images.IMAGES.values():
        copy = tmp_path / image.dockerfile.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(image.dockerfile, copy)
    return tmp_path


def imagebuild(project, *args, **env):
    """`PYTHONPATH=tools python3 -m imagebuild ARGS` in the copy, as the Makefile runs it."""
    return subprocess.run(
        [sys.executable, "-m", "imagebuild", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(project / "tools")} | env,
        timeout=300,
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_no_engine(project):
    result = imagebuild(project, "build", "--image", "kit-test:never", DOCKER_HOST="unix:///nonexistent.sock")
    assert_one_line_error(result, "no Docker engine answers", "DOCKER_HOST")


def test_lock_that_does_not_match_the_requirements(project):
    with open(project / "requirements/common.in", "a") as requirements:
        requirements.write("rich\n")
    assert_one_line_error(imagebuild(project, "check"), "cpu.lock does not match", "make lock")
    result = imagebuild(project, "wheelhouse", "--index-url", "http://127.0.0.1:9/simple")
    assert_one_line_error(result, "make lock")


def test_no_network_and_no_wheelhouse(project):
    result = imagebuild(project, "wheelhouse", "--index-url", "http://127.0.0.1:9/simple")
    assert_one_line_error(result, "cannot download the locked wheels", "make wheelhouse")
    assert not (project / "wheelhouse/cpu/.complete").exists()


def test_failed_build_tags_nothing(project, docker_client):
    """With an engine, a build that cannot get its wheels stops before docker build: no image by that name."""
    tag = f"kit-test-{uuid.uuid4().hex[:8]}:never"
    result = imagebuild(project, "build", "--image", tag, "--index-url", "http://127.0.0.1:9/simple")
    assert_one_line_error(result, "cannot download the locked wheels")
    assert not docker_client.images.list(name=tag.split(":")[0])


def test_unknown_variant(project):
    assert_one_line_error(imagebuild(project, "build", "--image", "x", "--variant", "rocm"), "unknown TF_VARIANT")


def test_the_base_image_is_read_from_the_chosen_images_dockerfile(project):
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("ARG BASE_IMAGE=", "ARG BASE=", 1))
    assert_one_line_error(imagebuild(project, "base", "--name", "kit"), "Dockerfile has no `ARG BASE_IMAGE")
