"""Fixtures that run real containers of the built image and always remove them."""

from __future__ import annotations

import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import docker
import pytest
from docker.models.containers import Container

from tests.conftest import missing

TOKEN_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-f]+)")


@pytest.fixture(scope="session")
def image(docker_client: docker.DockerClient) -> str:
    """The image under test: KIT_IMAGE (set by `make test`) or kit:latest."""
    name = os.environ.get("KIT_IMAGE", "kit:latest")
    try:
        docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        missing(f"image {name} is not built: run `make build IMAGE={name}`")
    return name


class Containers:
    """Starts containers of the image and removes every one of them at teardown, passed or failed."""

    def __init__(self, client: docker.DockerClient, image: str) -> None:
        self.client, self.image, self.started = client, image, []

    def start(self, command: str | list[str] | None = None, **kwargs) -> Container:
        kwargs.setdefault("ports", {"8888/tcp": ("127.0.0.1", None)})
        container = self.client.containers.run(self.image, command, detach=True, **kwargs)
        self.started.append(container)
        return container

    def run(self, command: str | list[str], **kwargs) -> str:
        """Run a command to its end in a new container; its standard output, or a failure that shows all."""
        container = self.start(command, ports={}, **kwargs)
        status = container.wait(timeout=300)
        assert status["StatusCode"] == 0, f"{command!r} exited {status['StatusCode']}:\n{container.logs().decode()}"
        return container.logs(stderr=False).decode()

    def remove_all(self) -> None:
        for container in self.started:
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass


@pytest.fixture
def containers(docker_client: docker.DockerClient, image: str) -> Iterator[Containers]:
    tracked = Containers(docker_client, image)
    yield tracked
    tracked.remove_all()


def host_port(container: Container, port: str = "8888/tcp") -> int:
    container.reload()
    return int(container.attrs["NetworkSettings"]["Ports"][port][0]["HostPort"])


def http_status(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_for(predicate, timeout: float, what: str, container: Container | None = None):
    """Poll ``predicate`` until it returns something truthy; fail with the container's log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except (OSError, urllib.error.URLError):
            result = None
        if result:
            return result
        time.sleep(0.1)
    log = container.logs().decode()[-3000:] if container else ""
    pytest.fail(f"{what} did not happen within {timeout} s\n{log}")


def logged_token(container: Container) -> tuple[int, str]:
    """The (port, token) of the URL the server prints in its log."""
    match = wait_for(lambda: TOKEN_URL.search(container.logs().decode()), 30, "the token URL in the log", container)
    return int(match.group(1)), match.group(2)
