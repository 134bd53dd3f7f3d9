"""Fixtures for the tests of every image in images/: one folder per image, as images/<name>/ is.

Each image's folder names its image with an ``image`` fixture (tests/by_image/<name>/conftest.py).
"""

import os
from collections.abc import Iterator

import docker
import pytest

from tests.utils.ci import missing
from tests.utils.containers import Containers


@pytest.fixture(scope="session")
def kit_image(docker_client: docker.DockerClient) -> str:
    """The kit image, checked once per session: KIT_IMAGE (set by `make test`) or kit:latest; not built is a skip
    here and a failure in CI. The kit image's tests are about it; the model image's train their runs in it."""
    name = os.environ.get("KIT_IMAGE", "kit:latest")
    try:
        docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        missing(f"image {name} is not built: run `make build IMAGE={name}`")
    return name


@pytest.fixture
def containers(docker_client: docker.DockerClient, image: str) -> Iterator[Containers]:
    """Containers of the image under test, each removed at teardown whether the test passed or not, so that a
    failed test leaves no server running and no port taken."""
    tracked = Containers(docker_client, image)
    yield tracked
    tracked.remove_all()
