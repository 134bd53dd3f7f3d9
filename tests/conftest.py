"""Fixtures shared by every test. Loaded inside the image too (tests/kit, tests/notebooks), which has the Docker SDK."""

import docker
import pytest

from tests.utils.ci import missing


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    """The engine every image test talks to, one connection for the session; without one, CI fails instead of
    skipping."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        missing(f"no Docker engine answers ({error}): start one, or run `make test`, which does")
    return client
