"""Containers of an image under test, and what a user sees of them: ports, HTTP answers, the logged token."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from typing import NamedTuple

import docker
import pytest
from docker.models.containers import Container

TOKEN_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-f]+)")


class Output(NamedTuple):
    """What a command that ran to its end in a container wrote."""

    stdout: str
    stderr: str


class Containers:
    """Starts containers of an image and removes every one of them at teardown, passed or failed."""

    def __init__(self, client: docker.DockerClient, image: str) -> None:
        self.client, self.image, self.started = client, image, []

    def start(self, command: str | list[str] | None = None, **kwargs) -> Container:
        kwargs.setdefault("ports", {"8888/tcp": ("127.0.0.1", None)})
        container = self.client.containers.run(self.image, command, detach=True, **kwargs)
        self.started.append(container)
        return container

    def execute(self, command: str | list[str], exit_code: int = 0, **kwargs) -> Output:
        """Run a command to its end in a new container; its output, or a failure that shows all of it."""
        container = self.start(command, ports={}, **kwargs)
        status = container.wait(timeout=300)
        assert status["StatusCode"] == exit_code, (
            f"{command!r} exited {status['StatusCode']}, not {exit_code}:\n{container.logs().decode()}"
        )
        return Output(container.logs(stderr=False).decode(), container.logs(stdout=False).decode())

    def run(self, command: str | list[str], **kwargs) -> str:
        """Run a command to its end in a new container; its standard output, or a failure that shows all."""
        return self.execute(command, **kwargs).stdout

    def remove_all(self) -> None:
        for container in self.started:
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass


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


def wait_for(predicate, timeout: float, what: str, container: Container | None = None, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; fail with the container's log if it never does.

    An OSError (a refused connection, a server not listening yet) counts as "not yet".
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except OSError:  # urllib's URLError and the connection errors are OSErrors
            result = None
        if result:
            return result
        time.sleep(interval)
    log = container.logs().decode()[-3000:] if container else ""
    pytest.fail(f"{what} did not happen within {timeout} s\n{log}")


def logged_token(container: Container) -> tuple[int, str]:
    """The (port, token) of the URL the server prints in its log."""
    match = wait_for(lambda: TOKEN_URL.search(container.logs().decode()), 30, "the token URL in the log", container)
    return int(match.group(1)), match.group(2)
