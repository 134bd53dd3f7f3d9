"""The devcontainer, brought up by the real devcontainer CLI (pinned in tools/devcontainer-cli, `make test`
installs it): the image from the project's Dockerfile, kit editable from the workspace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagebuild import engine, images
from tests.utils.ci import missing
from tests.utils.paths import ROOT

CLI = ROOT / "tools/devcontainer-cli/node_modules/.bin/devcontainer"


@pytest.fixture(scope="module")
def devcontainer(docker_client) -> engine.Builder:
    """The CLI, with the docker client that gives BuildKit (whose layer cache `make build` filled)."""
    if not shutil.which("node"):
        missing("Node.js is not installed: the devcontainer CLI needs it (apt-get install nodejs npm)")
    if not CLI.exists():
        missing("the devcontainer CLI is not installed: run `make devcontainer-cli` (make test does)")
    builder = engine.builder()
    return engine.Builder("devcontainer", (str(CLI), "--docker-path", builder.command[0]), builder.env)


def cli(devcontainer: engine.Builder, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    command = [devcontainer.command[0], *args, *devcontainer.command[1:]]
    env = os.environ | devcontainer.env
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def container(devcontainer) -> Iterator[str]:
    """`devcontainer up --workspace-folder .`; the container is removed afterwards, passed or failed."""
    label = f"kit.test={uuid.uuid4().hex[:8]}"
    result = cli(devcontainer, "up", "--workspace-folder", str(ROOT), "--id-label", label)
    outcome = last_json(result.stdout) if result.stdout.strip() else {}
    try:
        assert result.returncode == 0 and outcome.get("outcome") == "success", result.stdout[-3000:] + result.stderr
        yield label
    finally:
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True)
        for container_id in ids.stdout.split():
            subprocess.run(["docker", "rm", "-f", container_id], capture_output=True)


def run_inside(devcontainer, label: str, command: str) -> subprocess.CompletedProcess:
    return cli(devcontainer, "exec", "--workspace-folder", str(ROOT), "--id-label", label, "bash", "-c", command)


def test_kit_and_tensorflow_work_inside(devcontainer, container):
    result = run_inside(devcontainer, container, "kit --version && id -un && pwd")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-5:] == ["kit,", "version", "0.1.0", "jovyan", "/home/jovyan/work"]
    code = "import tensorflow as tf; print(int(tf.reduce_sum(tf.range(10))))"
    tensorflow = run_inside(devcontainer, container, f"python -c '{code}' 2>/dev/null")
    assert tensorflow.stdout.strip().splitlines()[-1] == "45"


def test_the_kit_unit_tests_pass_inside(devcontainer, container):
    result = run_inside(devcontainer, container, "python -m pytest -p no:cacheprovider -q tests/kit/test_params.py")
    assert result.returncode == 0, result.stdout[-3000:]


def test_kit_is_the_workspaces_editable_and_an_edit_shows_without_rebuild(devcontainer, container):
    probe = ROOT / "kit" / f"_probe_{uuid.uuid4().hex[:6]}.py"
    try:
        probe.write_text("EDITED = 'in the workspace'\n")
        code = f"import kit.{probe.stem} as p, kit; print(p.EDITED); print(kit.__file__)"
        result = run_inside(devcontainer, container, f'python -c "{code}"')
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-2:] == ["in the workspace", "/home/jovyan/work/kit/__init__.py"]
    finally:
        probe.unlink(missing_ok=True)


def test_the_gpu_configuration_reads_as_the_cuda_build_with_a_gpu_requirement(devcontainer):
    config = ROOT / ".devcontainer/gpu/devcontainer.json"
    result = cli(devcontainer, "read-configuration", "--workspace-folder", str(ROOT), "--config", str(config))
    assert result.returncode == 0, result.stderr
    configuration = last_json(result.stdout)["configuration"]
    assert configuration["build"]["args"] == {"TF_VARIANT": "cuda"}
    assert configuration["hostRequirements"]["gpu"] is True
    assert Path(config.parent, configuration["build"]["dockerfile"]).resolve() == images.get("kit").dockerfile
    assert Path(config.parent, configuration["build"]["context"]).resolve() == ROOT
