"""The fault table's cases that need a container's limits: a small tmpfs that is full before or fills during a run,
a read-only runs directory, ``--memory``, ``docker stop``, a process limit (the rest is tests/kit/test_faults.py).

Each case starts a container of the image (named ``faults-...``, always removed), runs ``kit`` in it with
``docker exec``, and checks the exit code, exactly one ``error:`` line and no traceback, what ``kit runs`` shows,
and that the earlier record in the runs directory is byte-for-byte unchanged.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

EARLIER = "earlier"


def write_notebook(path: Path, parameters: str | None, *cells: str) -> None:
    """A notebook of code cells (the first tagged 'parameters' if given), as JSON: the host has no nbformat."""
    sources = [(parameters, ["parameters"])] if parameters is not None else []
    sources += [(source, []) for source in cells]
    path.write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}},
        "cells": [{"cell_type": "code", "id": f"c{index}", "metadata": {"tags": tags}, "execution_count": None,
                   "outputs": [], "source": source} for index, (source, tags) in enumerate(sources)],
    }))  # fmt: skip


def docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, errors="replace", timeout=timeout)


@pytest.fixture
def notebooks(tmp_path) -> Path:
    """The notebooks the cases run, in a folder mounted read-only at /nb."""
    folder = tmp_path / "nb"
    folder.mkdir()
    write_notebook(folder / "small.ipynb", "seed = 0", "import kit\nkit.log_metric('m', 1)\n"
                   "kit.artifact_path('a.txt').write_text('small')")  # fmt: skip
    write_notebook(folder / "big.ipynb", None, "import kit\nkit.artifact_path('big.bin').write_bytes(bytes(10 << 20))")
    write_notebook(
        folder / "sleep.ipynb", None, "import kit; kit.log_metric('started', 1)", "import time; time.sleep(120)"
    )
    write_notebook(folder / "memory.ipynb", None, "blocks = [bytearray(64 << 20) for _ in range(64)]")
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


class Box:
    """One container of the image with its runs directory at /runs, and kit run in it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def sh(self, script: str, *, user: str = "1000", timeout: float = 600) -> subprocess.CompletedProcess:
        return docker("exec", "-u", user, "-e", "KIT_RUNS_DIR=/runs", "-w", "/tmp", self.name, "bash", "-c", script,
                      timeout=timeout)  # fmt: skip

    def kit(self, *args: str) -> subprocess.CompletedProcess:
        return self.sh("kit " + " ".join(args))

    def hashes(self) -> str:
        result = self.sh(f"cd /runs/{EARLIER} && find . -type f -exec sha256sum {{}} + | sort")
        assert result.returncode == 0 and result.stdout, result.stderr
        return result.stdout

    def hidden(self) -> list[str]:
        return self.sh("ls -A /runs | grep '\\.partial$' || true").stdout.split()

    def status_of(self, run_id: str) -> str:
        """The status ``kit runs`` lists for the run."""
        result = self.kit("runs")
        assert result.returncode == 0 and result.stderr == "", result.stderr
        rows = [line.split() for line in result.stdout.splitlines() if line.split()[:1] == [run_id]]
        assert len(rows) == 1, result.stdout
        return rows[0][2]


@contextmanager
def box(image: str, notebooks: Path, *flags: str, runs: Path | None = None, mode: str = "rw") -> Iterator[Box]:
    """A container idling with the notebooks at /nb and ``flags`` (its runs directory: a --tmpfs, or a volume)."""
    name = f"faults-{secrets.token_hex(4)}"
    volume = ["-v", f"{runs}:/runs:{mode}"] if runs else []
    started = docker("run", "-d", "--name", name, "-v", f"{notebooks}:/nb:ro", *volume, *flags,
                     "--entrypoint", "sleep", image, "infinity")  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield Box(name)
    finally:
        docker("rm", "-f", name)


def one_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def with_earlier(container: Box) -> str:
    made = container.kit("run", "/nb/small.ipynb", "--run-id", EARLIER)
    assert made.returncode == 0, made.stderr
    return container.hashes()


TMPFS = "/runs:size={size},uid=1000,gid=100,mode=0755"


def test_a_runs_dir_full_before_the_run_exits_4_and_a_run_works_once_space_is_freed(image, notebooks):
    with box(image, notebooks, "--tmpfs", TMPFS.format(size="2m")) as container:
        before = with_earlier(container)
        container.sh("dd if=/dev/zero of=/runs/filler bs=64k 2>/dev/null; true")
        result = container.kit("run", "/nb/small.ipynb", "--run-id", "full")
        assert result.returncode == 4, result.stderr
        said = one_error(result.stderr)
        assert "runs directory /runs is full" in said and "free space there" in said
        assert container.hidden() == [] and container.sh("ls /runs").stdout.split() == [EARLIER, "filler"]
        container.sh("rm /runs/filler")
        again = container.kit("run", "/nb/small.ipynb", "--run-id", "full")
        assert again.returncode == 0, again.stderr
        assert container.status_of("full") == "succeeded" and container.hashes() == before


def test_a_runs_dir_that_fills_during_the_run_keeps_a_small_failed_record(image, notebooks):
    with box(image, notebooks, "--tmpfs", TMPFS.format(size="3m")) as container:
        before = with_earlier(container)
        result = container.kit("run", "/nb/big.ipynb", "--run-id", "big")
        assert result.returncode == 4, result.stderr
        said = one_error(result.stderr)
        assert "runs directory /runs is full" in said and "a failed record of it kept in /runs/big" in said
        assert container.hidden() == [] and container.status_of("big") == "failed"
        shown = container.kit("runs", "show", "big")
        assert shown.returncode == 0 and "RecordNotKept" in shown.stdout, shown.stderr
        used = container.sh("du -sk /runs/big | cut -f1").stdout.strip()
        assert int(used) < 1024, f"the failed record takes {used} KB"
        later = container.kit("run", "/nb/small.ipynb", "--run-id", "later")
        assert later.returncode == 0, later.stderr
        assert container.hashes() == before


def test_a_read_only_runs_dir_exits_4_before_anything_runs(image, notebooks, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o777)
    with box(image, notebooks, runs=runs) as container:
        before = with_earlier(container)
    with box(image, notebooks, runs=runs, mode="ro") as container:
        result = container.kit("run", "/nb/small.ipynb")
        assert result.returncode == 4, result.stderr
        said = one_error(result.stderr)
        assert "runs directory /runs is read-only: nothing was run" in said and "make it writable" in said
        assert container.status_of(EARLIER) == "succeeded" and container.hashes() == before


def test_docker_stop_records_the_run_as_interrupted_within_the_grace(image, notebooks, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o777)
    with box(image, notebooks, runs=runs) as container:
        before = with_earlier(container)
    name = f"faults-{secrets.token_hex(4)}"
    volumes = ["-v", f"{notebooks}:/nb:ro", "-v", f"{runs}:/runs", "-e", "KIT_RUNS_DIR=/runs"]
    command = ["kit", "run", "/nb/sleep.ipynb", "--run-id", "stopped"]
    started = docker("run", "-d", "--name", name, *volumes, image, *command)
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 120
        while not list(runs.glob(".stopped.partial/metrics.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
        sent = time.monotonic()
        stopped = docker("stop", name)
        took = time.monotonic() - sent
        assert stopped.returncode == 0, stopped.stderr
        assert took < 9, f"docker stop took {took:.1f} s: kit was killed at the end of the grace"
        state = docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
        logs = docker("logs", name)
        assert state == "143", logs.stderr
        assert one_error(logs.stderr).startswith("error: terminated by SIGTERM")
    finally:
        docker("rm", "-f", name)
    with box(image, notebooks, runs=runs) as container:
        assert container.status_of("stopped") == "interrupted" and container.hidden() == []
        assert container.hashes() == before


def test_a_kernel_killed_by_the_memory_limit_is_a_failed_run(image, notebooks):
    with box(image, notebooks, "--memory", "600m", "--memory-swap", "600m",
             "--tmpfs", TMPFS.format(size="64m")) as container:  # fmt: skip
        before = with_earlier(container)
        result = container.kit("run", "/nb/memory.ipynb", "--run-id", "oom")
        assert result.returncode == 1, result.stderr
        assert "DeadKernelError" in one_error(result.stderr)
        assert container.status_of("oom") == "failed" and container.hidden() == []
        assert container.hashes() == before


def test_a_kernel_that_cannot_start_under_a_process_limit_says_so(image, notebooks, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o777)
    with box(image, notebooks, runs=runs) as container:
        before = with_earlier(container)
    with box(image, notebooks, "--pids-limit", "18", runs=runs) as container:  # kit's threads fit, the kernel's do not
        result = container.kit("run", "/nb/small.ipynb", "--run-id", "limited")
        assert result.returncode == 1, result.stderr
        said = one_error(result.stderr)
        assert "the run failed with KernelNotStarted: the kernel did not start: " in said and "kernel.log" in said
    with box(image, notebooks, runs=runs) as container:
        assert container.status_of("limited") == "failed" and container.hidden() == []
        assert container.hashes() == before
