"""Fixtures shared by every test: the project root, and whether we run in CI."""

import os
from pathlib import Path

import docker
import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """A test needs something this machine lacks: a failure in CI, a skip with the reason elsewhere."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must not be skipped)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    """The engine every image test talks to; without one, CI fails instead of skipping."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        missing(f"no Docker engine answers ({error}): start one, or run `make test`, which does")
    return client
