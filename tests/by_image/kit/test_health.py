"""The image's HEALTHCHECK (images/kit/healthcheck.py) for what a container of it runs besides JupyterLab."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.utils.containers import wait_for


@pytest.fixture
def network(docker_client) -> Iterator[str]:
    """A network of the test's own for a scheduler and its worker, removed (after its containers) at teardown."""
    created = docker_client.networks.create(f"newcomer-health-{secrets.token_hex(3)}")
    yield created.name
    created.reload()
    for container in created.containers:
        container.remove(force=True)
    created.remove()


def health(container) -> str:
    container.reload()
    return container.attrs["State"]["Health"]["Status"]


def test_a_dask_scheduler_and_its_worker_turn_healthy(containers, network):
    scheduler = containers.start(
        ["dask", "scheduler", "--no-dashboard"], ports={}, network=network, name=f"{network}-scheduler"
    )
    worker = containers.start(
        ["dask", "worker", f"tcp://{network}-scheduler:8786", "--nthreads", "1"], ports={}, network=network
    )
    for container in (scheduler, worker):
        wait_for(lambda c=container: health(c) == "healthy", 60, "healthy", container, interval=0.5)


def test_the_check_follows_the_schedulers_port(containers):
    container = containers.start(["dask", "scheduler", "--no-dashboard", "--port", "9999"], ports={})
    wait_for(lambda: health(container) == "healthy", 60, "healthy", container, interval=0.5)
    assert container.exec_run(["healthcheck"]).exit_code == 0
