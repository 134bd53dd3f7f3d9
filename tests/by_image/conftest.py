"""Fixtures for the tests of every image in images/: one folder per image, as images/<name>/ is.

Each image's folder names its image with an ``image`` fixture (tests/by_image/<name>/conftest.py).
"""

from collections.abc import Iterator

import docker
import pytest

from tests.utils.containers import Containers


@pytest.fixture
def containers(docker_client: docker.DockerClient, image: str) -> Iterator[Containers]:
    """Containers of the image under test, each removed at teardown whether the test passed or not, so that a
    failed test leaves no server running and no port taken."""
    tracked = Containers(docker_client, image)
    yield tracked
    tracked.remove_all()
