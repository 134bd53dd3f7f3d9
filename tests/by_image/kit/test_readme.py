"""The README's commands for the kit image, run as written by a newcomer who is root, UID 1000 or another UID.

Each command is the README's own text: a test fails when a listed line is no longer in README.md, and the Dask
block is taken from it. A command runs in bash from a project folder that belongs to the caller, with `id`
answering as that caller (the test itself runs as root, which Docker needs), so `--user "$(id -u):$(id -g)"` is
what it would be. Only what the machine shares is renamed: the image (the one under test), the Docker network,
the scheduler's name and the published port, so that tests running at once never meet.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.ci import missing
from tests.utils.containers import wait_for
from tests.utils.paths import ROOT

README = (ROOT / "README.md").read_text()

#: kit from the host, as yourself ("Reproducible runs: `kit`").
HOST_KIT = (
    'docker run --rm --user "$(id -u):$(id -g)" -v "$PWD":/home/jovyan/work kit:latest kit run '
    "notebooks/train_tabular.ipynb"
)
ALIAS = """alias kit='docker run --rm --user "$(id -u):$(id -g)" -v "$PWD":/home/jovyan/work kit:latest kit'"""
#: kit serve in a container, and the curl from the host that follows it ("Serve a model").
SERVE = """docker run --rm -p 8080:8080 -v "$PWD":/home/jovyan/work kit:latest \\
  kit serve RUN --host 0.0.0.0 --port 8080"""
CURL = "curl -s localhost:8080/v2/models/train_tabular"
#: The CI lines ("Run notebooks in CI").
CI_PAPERMILL = """docker run --rm --user "$(id -u):$(id -g)" -v "$PWD":/home/jovyan/work kit:latest \\
  papermill notebooks/train_tabular.ipynb out.ipynb -p task regression"""

LISTED = {"host-kit": HOST_KIT, "alias": ALIAS, "serve": SERVE, "curl": CURL, "ci-papermill": CI_PAPERMILL}

#: Who runs the commands: root (a CI runner, a cloud VM), the image's own UID, and any other.
CALLERS = [
    pytest.param((0, 0), id="root"),
    pytest.param((1000, 1000), id="uid-1000"),
    pytest.param((4321, 4321), id="uid-4321"),
]


def fenced_block(containing: str) -> str:
    """The README's fenced bash block that contains ``containing``, its commands with continuation lines joined."""
    blocks = [b for b in re.findall(r"```bash\n(.*?)```", README, re.S) if containing in b]
    assert len(blocks) == 1, f"one bash block of README.md must contain {containing!r}"
    return blocks[0]


@pytest.mark.parametrize("command", LISTED.values(), ids=LISTED.keys())
def test_the_commands_are_the_readmes(command):
    assert command in README, "README.md changed: update the command here, as written there"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Caller:
    """A newcomer in their project folder: runs README commands in bash as themselves, in that folder."""

    def __init__(self, project: Path, uid: int, gid: int, image: str) -> None:
        self.project, self.uid, self.gid, self.image = project, uid, gid, image
        self.prefix = f"newcomer-readme-{secrets.token_hex(3)}"

    def shell(self, command: str, timeout: float = 600, **renames: str) -> subprocess.CompletedProcess:
        command = command.replace("kit:latest", self.image)
        for old, new in renames.items():
            command = command.replace(old, new)
        # `id -u` and `id -g` answer as the caller; aliases work in a script once enabled.
        prelude = (
            f'id() {{ case "$1" in -u) echo {self.uid};; -g) echo {self.gid};; *) command id "$@";; esac; }}\n'
            "shopt -s expand_aliases\n"
        )
        return subprocess.run(
            ["bash", "-c", prelude + command], cwd=self.project, capture_output=True, text=True, timeout=timeout
        )

    def owns_everything_in(self, path: Path) -> bool:
        return all((p.stat().st_uid, p.stat().st_gid) == (self.uid, self.gid) for p in [path, *path.rglob("*")])


@pytest.fixture(params=CALLERS)
def caller(request, tmp_path, image) -> Iterator[Caller]:
    """A copy of the project's notebooks in a folder of the caller's own (as a checkout is); every container and
    network the commands started (they carry the test's prefix) is removed at teardown."""
    if os.geteuid() != 0:
        missing("the test gives folders to other UIDs, which needs root (CI runs as root)")
    uid, gid = request.param
    project = tmp_path / "project"
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    for path in [project, *project.rglob("*")]:
        os.chown(path, uid, gid)
    who = Caller(project, uid, gid, image)
    yield who
    for selector in (f"name={who.prefix}", f"network={who.prefix}"):
        listed = subprocess.run(["docker", "ps", "-aq", "--filter", selector], capture_output=True, text=True)
        for container in listed.stdout.split():
            subprocess.run(["docker", "rm", "--force", container], capture_output=True)
    subprocess.run(["docker", "network", "rm", who.prefix], capture_output=True)


def recorded_run(caller: Caller, result: subprocess.CompletedProcess) -> Path:
    """The run a kit command printed last, checked to be complete, on the host, and the caller's."""
    assert result.returncode == 0, result.stderr[-3000:]
    run = caller.project / result.stdout.strip().splitlines()[-1]
    assert (run / "status.json").is_file() and (run / "metrics.json").is_file()
    assert caller.owns_everything_in(caller.project / "runs"), "the records belong to the caller"
    return run


def test_kit_from_the_host_then_the_alias_then_serve_and_curl(caller):
    """One kit run from the host, `kit runs` through the alias, then the run served in a container and asked
    from the host with the README's curl."""
    run = recorded_run(caller, caller.shell(HOST_KIT))
    listed = caller.shell(f"{ALIAS}\nkit runs", timeout=120)
    assert listed.returncode == 0 and run.name in listed.stdout, listed.stderr[-2000:]

    port = str(free_port())
    command = SERVE.replace("docker run --rm", f"docker run --rm --name {caller.prefix}-serve")
    for old, new in {"kit:latest": caller.image, "RUN": run.name, "8080:8080": f"{port}:8080"}.items():
        command = command.replace(old, new)
    server = subprocess.Popen(["bash", "-c", command], cwd=caller.project, stderr=subprocess.PIPE, text=True)
    try:
        answer = wait_for(
            lambda: (r := caller.shell(CURL.replace("8080", port), timeout=10)).returncode == 0 and r.stdout,
            120,
            "the model's metadata from the host",
        )
        assert '"name":"train_tabular"' in answer.replace(" ", "") and run.name in answer
    finally:
        subprocess.run(["docker", "stop", "--time", "10", f"{caller.prefix}-serve"], capture_output=True)
        server.wait(timeout=30)


def test_the_ci_papermill_line_writes_out_ipynb_as_the_caller(caller):
    result = caller.shell(CI_PAPERMILL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "metric r2 = " in (caller.project / "out.ipynb").read_text()
    assert caller.owns_everything_in(caller.project / "out.ipynb")


def test_the_dask_block_sweeps_on_a_scheduler_and_a_worker(caller):
    """The README's Dask block line by line: a network, a scheduler, a worker, then the sweep, as the caller."""
    block = fenced_block("dask scheduler")
    renames = {
        "--network kit": f"--network {caller.prefix}",
        "docker network create kit": f"docker network create {caller.prefix}",
        "--name scheduler": f"--name {caller.prefix}-scheduler",
        "tcp://scheduler:": f"tcp://{caller.prefix}-scheduler:",
    }
    result = caller.shell(block, timeout=900, **renames)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = [p for p in (caller.project / "runs").iterdir() if not p.name.startswith(".") and p.name != "sweeps"]
    assert len(runs) == 4 and all((run / "status.json").is_file() for run in runs)
    assert caller.owns_everything_in(caller.project / "runs")
