"""The Docker engine and the builder to use with it.

BuildKit is preferred (it syncs only the changed files of the build context): through buildx when the client
has it, else through a client older than 23.0, which has BuildKit built in (Debian's docker.io). With neither,
the legacy builder, which the Dockerfile supports as well.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from imagebuild.errors import BuildError

#: Clients tried for built-in BuildKit, after the one on PATH: Debian's docker.io installs here.
DEBIAN_CLIENT = "/usr/bin/docker"


@dataclass(frozen=True)
class Builder:
    """How to run ``docker build``: the command's first words and the environment they need."""

    name: str
    command: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def _run(command: list[str], timeout: float = 20, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, 124, "", f"no answer within {timeout:.0f} s")


def client() -> str:
    found = shutil.which("docker")
    if not found:
        raise BuildError("the docker command is not installed: install Docker (on Debian: apt-get install docker.io)")
    return found


def require_engine() -> str:
    """The engine's version; raise with what to do when no engine answers."""
    result = _run([client(), "version", "--format", "{{.Server.Version}}"])
    if result.returncode:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise BuildError(
            f"no Docker engine answers at {host}: start one (`sudo dockerd &`, or Docker Desktop), "
            "or point DOCKER_HOST at one"
        )
    return result.stdout.strip()


def _major(docker: str) -> int:
    result = _run([docker, "version", "--format", "{{.Client.Version}}"])
    try:
        return int(result.stdout.strip().split(".")[0])
    except ValueError:
        return 0


def builder() -> Builder:
    """The best builder this machine has."""
    docker = client()
    if _run([docker, "buildx", "version"]).returncode == 0:
        return Builder("buildkit (buildx)", (docker, "buildx", "build", "--load"))
    for candidate in dict.fromkeys([docker, DEBIAN_CLIENT]):
        if os.access(candidate, os.X_OK) and 0 < _major(candidate) < 23:
            return Builder("buildkit (built in)", (candidate, "build"), {"DOCKER_BUILDKIT": "1"})
    return Builder("legacy", (docker, "build"), {"DOCKER_BUILDKIT": "0"})


def image_exists(image: str) -> bool:
    return _run([client(), "image", "inspect", image]).returncode == 0


def pull(image: str, timeout: float = 120) -> bool:
    return _run([client(), "pull", image], timeout=timeout).returncode == 0
