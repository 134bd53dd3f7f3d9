"""Thread counts follow the container's CPU quota, and `kit verify` reproduces a run under a smaller one."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.utils.ci import missing


@pytest.fixture
def kit_in_image(image, tmp_path):
    """`docker run [flags] IMAGE kit ...` with the runs directory on the host, in tmp_path."""
    tmp_path.chmod(0o777)

    def run(*flags: str, kit: list[str]) -> subprocess.CompletedProcess:
        volume = ["-v", f"{tmp_path}:/runs", "-e", "KIT_RUNS_DIR=/runs"]
        command = ["docker", "run", "--rm", *volume, *flags, image, "kit", *kit]
        return subprocess.run(command, capture_output=True, text=True, timeout=600)

    return run


def test_the_cpu_quota_is_read_from_the_cgroup(kit_in_image):
    result = kit_in_image("--cpus", "1", kit=["env", "--json"])
    assert result.returncode == 0, result.stderr
    cpu = json.loads(result.stdout)["cpu"]
    assert (cpu["quota"], cpu["usable"]) == (1.0, 1)


def test_a_run_made_on_every_cpu_verifies_under_docker_run_cpus_1(kit_in_image):
    if (os.cpu_count() or 1) < 2:
        missing("the test needs two CPUs or more, to compare with one")
    made = kit_in_image(kit=["run", "notebooks/train_images.ipynb", "-p", "epochs", "3", "--run-id", "all"])
    assert made.returncode == 0, made.stderr[-3000:]
    verified = kit_in_image("--cpus", "1", kit=["verify", "all"])
    assert verified.returncode == 0, verified.stdout + verified.stderr[-3000:]
    assert "metrics: same" in verified.stdout and "artifacts: same" in verified.stdout
    assert "cpu.quota: null -> 1\n" in verified.stdout
