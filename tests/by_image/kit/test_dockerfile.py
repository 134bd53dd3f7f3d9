"""The JupyterLab image is the project's top-level Dockerfile: `docker build .` in a clone gives it.

`make build` (which ran before these tests) filled the wheelhouse and the layer cache, so the plain build reuses
every layer up to the provenance labels: seconds, not minutes.
"""

import os
import subprocess
import uuid

import docker
import pytest

from imagebuild import engine
from tests.utils.paths import ROOT


@pytest.fixture
def plain_tag(docker_client: docker.DockerClient, kit_image: str):
    """A throwaway tag for the plain build, removed afterwards (its layers are the kit image's own)."""
    tag = f"kit-plain-build-{uuid.uuid4().hex[:8]}:test"
    yield tag
    try:
        docker_client.images.remove(tag, noprune=True)
    except docker.errors.ImageNotFound:
        pass


def test_docker_build_dot_from_the_root_gives_the_jupyterlab_image(docker_client, plain_tag):
    builder = engine.builder()
    result = subprocess.run(
        [*builder.command, "--tag", plain_tag, "."],
        cwd=ROOT,
        env=os.environ | builder.env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    image = docker_client.images.get(plain_tag)
    assert image.labels["org.opencontainers.image.title"] == "kit"
    assert image.attrs["Config"]["Cmd"] == ["start-notebook.py"]
    output = docker_client.containers.run(plain_tag, ["kit", "--version"], remove=True).decode()
    assert output.startswith("kit, version")
