"""Fixtures for the kit image's tests (images/kit/), which run real containers from the host."""

import os

import docker
import pytest

from tests.utils.ci import missing


@pytest.fixture(scope="session")
def image(docker_client: docker.DockerClient) -> str:
    """The kit image under test, checked once per session: KIT_IMAGE (set by `make test`) or kit:latest; not
    built is a skip here and a failure in CI."""
    name = os.environ.get("KIT_IMAGE", "kit:latest")
    try:
        docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        missing(f"image {name} is not built: run `make build IMAGE={name}`")
    return name
