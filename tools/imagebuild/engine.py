"""The Docker engine and the builder to use with it.

BuildKit is preferred (it syncs only the changed files of the build context): through buildx when the client
has it, else through a client older than 23.0, which has BuildKit built in (Debian's docker.io). With neither,
the legacy builder, which the Dockerfile supports as well.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from imagebuild.errors import BuildError
from imagebuild.process import run, succeeds

#: Clients tried for built-in BuildKit, after the one on PATH: Debian's docker.io installs here.
DEBIAN_CLIENT = "/usr/bin/docker"
#: Seconds a question to the engine may take; only pulls take longer.
TIMEOUT = 20


@dataclass(frozen=True)
class Builder:
    """How to run ``docker build``: the command's first words and the environment they need."""

    name: str
    command: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def client() -> str:
    found = shutil.which("docker")
    if not found:
        raise BuildError("the docker command is not installed: install Docker (on Debian: apt-get install docker.io)")
    return found


def require_engine() -> str:
    """The engine's version; raise with what to do when no engine answers."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return run(
        [client(), "version", "--format", "{{.Server.Version}}"],
        "start one (`sudo dockerd &`, or Docker Desktop), or point DOCKER_HOST at one",
        failure=f"no Docker engine answers at {host}",
        timeout=TIMEOUT,
    )


def _major(docker: str) -> int:
    """The client's major version; 0 when it does not say."""
    try:
        return int(run([docker, "version", "--format", "{{.Client.Version}}"], "", timeout=TIMEOUT).split(".")[0])
    except (BuildError, ValueError):
        return 0


def builder() -> Builder:
    """The best builder this machine has."""
    docker = client()
    if succeeds([docker, "buildx", "version"], TIMEOUT):
        return Builder("buildkit (buildx)", (docker, "buildx", "build", "--load"))
    for candidate in dict.fromkeys([docker, DEBIAN_CLIENT]):
        if os.access(candidate, os.X_OK) and 0 < _major(candidate) < 23:
            return Builder("buildkit (built in)", (candidate, "build"), {"DOCKER_BUILDKIT": "1"})
    return Builder("legacy", (docker, "build"), {"DOCKER_BUILDKIT": "0"})


def image_exists(image: str) -> bool:
    return succeeds([client(), "image", "inspect", image], TIMEOUT)


def pull(image: str, timeout: float = 120) -> bool:
    return succeeds([client(), "pull", image], timeout)
