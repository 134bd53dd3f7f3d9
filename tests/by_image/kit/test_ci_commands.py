"""The README's "Run notebooks in CI" commands, run exactly as written, as a UID that is not 1000."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.utils.ci import missing
from tests.utils.paths import ROOT

#: A CI runner's user: neither root nor jovyan, and a group of its own.
UID, GID = 4321, 4321


@pytest.fixture
def work(tmp_path, image) -> Path:
    """A checkout of the project's notebooks that belongs to the runner's UID, as a CI workspace does."""
    if os.geteuid() != 0:
        missing("the test gives a folder to another UID, which needs root (CI runs as root)")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    for path in [tmp_path, *tmp_path.rglob("*")]:
        os.chown(path, UID, GID)
    return tmp_path


def docker_run(image: str, work: Path, *command: str) -> subprocess.CompletedProcess:
    """`docker run --rm --user "$(id -u):$(id -g)" -v "$PWD":/home/jovyan/work IMAGE ...` from the workspace."""
    docker = ["docker", "run", "--rm", "--user", f"{UID}:{GID}", "-v", f"{work}:/home/jovyan/work", image]
    return subprocess.run([*docker, *command], cwd=work, capture_output=True, text=True, timeout=600)


def owned_by_runner(path: Path) -> bool:
    return all((item.stat().st_uid, item.stat().st_gid) == (UID, GID) for item in [path, *path.rglob("*")])


def test_kit_run_leaves_the_record_on_the_host_owned_by_the_runner(image, work):
    result = docker_run(image, work, "kit", "run", "notebooks/train_tabular.ipynb", "-p", "task", "regression")
    assert result.returncode == 0, result.stderr[-3000:]
    run = work / "runs" / Path(result.stdout.strip().splitlines()[-1]).name
    assert (run / "status.json").is_file() and "r2" in (run / "metrics.json").read_text()
    assert owned_by_runner(work / "runs")


def test_bare_papermill_writes_the_executed_notebook_owned_by_the_runner(image, work):
    command = ["papermill", "notebooks/train_tabular.ipynb", "out.ipynb", "-p", "task", "regression"]
    result = docker_run(image, work, *command)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "metric r2 = " in (work / "out.ipynb").read_text()
    assert owned_by_runner(work / "out.ipynb")


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["kit", "run", "notebooks/train_tabular.ipynb", "-p", "task", "clustering"], id="kit-run"),
        pytest.param(
            ["papermill", "notebooks/train_tabular.ipynb", "out.ipynb", "-p", "task", "clustering"], id="papermill"
        ),
    ],
)
def test_a_failing_notebook_fails_the_command(image, work, command):
    result = docker_run(image, work, *command)
    assert result.returncode != 0
    assert "task must be diagnosis or regression" in result.stderr
