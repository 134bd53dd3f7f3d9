"""`kit sweep --scheduler`: a Dask cluster of the kit image, for real.

A scheduler and two workers, each a container of the image, on a Docker network of their own, share a volume
(the runs directory and the notebook, at the same path everywhere); the sweep is started from a fourth container.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from tests.utils.cells import cell
from tests.utils.containers import Containers, wait_for

SHARED = "/shared"


#: Each point says which worker ran it, logs that it started, then waits for go.txt.
NOTEBOOK = json.dumps({
    "cells": [
        cell("x = 0", "parameters"),
        cell("import kit, pathlib, socket, time\nkit.artifact_path('host.txt').write_text(socket.gethostname())\n"
             "kit.log_metric('started', x)"),
        cell(f"while not pathlib.Path('{SHARED}/go.txt').exists():\n    time.sleep(0.1)"),
        cell("kit.log_metric('square', x * x)"),
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
})  # fmt: skip


#: Exits 0 when no kernel runs in the container (the image has no pgrep).
NO_KERNEL = "import psutil; exit(any('ipykernel_launcher' in p.cmdline() for p in psutil.process_iter()))"


@dataclass
class Cluster:
    """The cluster's containers, its network, and the shared folder as the host sees it."""

    containers: Containers
    network: str
    scheduler: str
    workers: list[Container]
    shared: Path

    def sweep(self, *args: str) -> Container:
        command = ["kit", "sweep", f"{SHARED}/slow.ipynb", *args, "--scheduler", f"tcp://{self.scheduler}:8786",
                   "--runs-dir", f"{SHARED}/runs"]  # fmt: skip
        return self.containers.start(command, **self.options())

    def options(self) -> dict:
        return {"network": self.network, "ports": {}, "volumes": {str(self.shared): {"bind": SHARED, "mode": "rw"}}}


@pytest.fixture
def cluster(docker_client: docker.DockerClient, containers: Containers, tmp_path: Path) -> Iterator[Cluster]:
    """A scheduler and two single-threaded workers of the image on a network of their own; all removed after."""
    token = secrets.token_hex(4)
    network = docker_client.networks.create(f"kit-sweep-test-{token}")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # the containers' user (jovyan) writes the runs
    (shared / "slow.ipynb").write_text(NOTEBOOK)
    found = Cluster(containers, network.name, f"kit-sweep-scheduler-{token}", [], shared)
    try:
        scheduler = containers.start(["dask", "scheduler", "--no-dashboard"], name=found.scheduler, **found.options())
        wait_for(lambda: "Scheduler at:" in scheduler.logs().decode(), 60, "the scheduler", scheduler)
        for index in range(2):
            worker = containers.start(
                ["dask", "worker", f"tcp://{found.scheduler}:8786", "--nthreads", "1", "--no-dashboard"],
                name=f"kit-sweep-worker-{index}-{token}", **found.options(),
            )  # fmt: skip
            found.workers.append(worker)
        for worker in found.workers:
            wait_for(lambda worker=worker: "Registered to" in worker.logs().decode(), 60, "a worker", worker)
        yield found
    finally:
        containers.remove_all()
        network.remove()


def finished(container: Container, timeout: int = 300) -> tuple[int, str, str]:
    status = container.wait(timeout=timeout)
    return status["StatusCode"], container.logs(stderr=False).decode(), container.logs(stdout=False).decode()


def records(shared: Path) -> dict[str, dict]:
    """Every finished run in the shared runs directory: its params, metrics and the worker that ran it."""
    runs = shared / "runs"
    return {
        path.name: {
            "params": json.loads((path / "params.json").read_text()),
            "status": json.loads((path / "status.json").read_text())["status"],
            "host": (path / "artifacts" / "host.txt").read_text(),
        }
        for path in runs.iterdir()
        if not path.name.startswith(".") and path.name != "sweeps"
    }


def test_a_sweep_on_a_dask_cluster_records_every_point_once(cluster):
    (cluster.shared / "go.txt").write_text("")
    code, stdout, stderr = finished(cluster.sweep("-p", "x", "0,1,2,3"))
    assert code == 0, stderr[-3000:]
    record = json.loads((cluster.shared / "runs" / "sweeps" / Path(stdout.strip()).name / "sweep.json").read_text())
    assert record["status"] == "succeeded" and record["scheduler"].startswith("tcp://")
    found = records(cluster.shared)
    assert sorted(found) == sorted(point["runs"][-1] for point in record["points"])
    assert sorted(run["params"]["x"] for run in found.values()) == [0, 1, 2, 3]
    assert len({run["host"] for run in found.values()}) == 2  # both workers took points
    assert "[4/4] point" in stderr


def test_a_killed_workers_points_finish_on_the_other_once(cluster):
    driver = cluster.sweep("-p", "x", "0,1,2,3")
    runs = cluster.shared / "runs"
    partials = wait_for(lambda: [p for p in runs.glob(".*.partial") if (p / "metrics.json").exists()] if
                        len(list(runs.glob(".*.partial/metrics.json"))) == 2 else None, 120, "two points running",
                        driver)  # fmt: skip
    hosts = {(partial / "artifacts" / "host.txt").read_text() for partial in partials}
    assert len(hosts) == 2  # one point on each worker
    victim = cluster.workers[0]
    victim.reload()
    killed = next(partial for partial in partials if (partial / "artifacts" / "host.txt").read_text() == victim.id[:12])
    victim.kill()
    (cluster.shared / "go.txt").write_text("")
    code, stdout, stderr = finished(driver)
    assert code == 0, stderr[-3000:]
    record = json.loads((runs / "sweeps" / Path(stdout.strip()).name / "sweep.json").read_text())
    assert [point["status"] for point in record["points"]] == ["succeeded"] * 4
    assert [len(point["runs"]) for point in record["points"]] == [1] * 4  # no point recorded twice
    found = records(cluster.shared)
    assert sorted(found) == sorted(point["runs"][0] for point in record["points"])  # nothing lost, nothing more
    assert sorted(run["params"]["x"] for run in found.values()) == [0, 1, 2, 3]
    assert {run["host"] for run in found.values()} == {cluster.workers[1].id[:12]} | (hosts - {victim.id[:12]})
    assert killed.exists()  # the dead attempt's hidden directory: never shown as a run
    point = killed.name.removeprefix(".").split("+")[0]
    assert found[point]["host"] != victim.id[:12] and found[point]["status"] == "succeeded"  # a fresh record


def test_ctrl_c_records_the_running_points_as_interrupted_and_starts_no_more(cluster):
    driver = cluster.sweep("-p", "x", "0,1,2,3")
    runs = cluster.shared / "runs"
    wait_for(lambda: len(list(runs.glob(".*.partial/metrics.json"))) == 2, 120, "two points running", driver)
    driver.kill(signal="SIGINT")  # tini (PID 1, -g) passes it to kit, as a terminal's Ctrl-C would
    code, stdout, stderr = finished(driver)
    assert code == 130, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "interrupted: 0 of 4 points finished" in errors[0] and "--resume" in errors[0]
    record = json.loads((runs / "sweeps" / Path(stdout.strip()).name / "sweep.json").read_text())
    assert record["status"] == "interrupted"
    assert sorted(point["status"] for point in record["points"]) == ["interrupted", "interrupted", "pending", "pending"]
    found = records(cluster.shared)
    assert sorted(found) == sorted(point["runs"][-1] for point in record["points"] if point["status"] != "pending")
    assert [run["status"] for run in found.values()] == ["interrupted"] * 2
    assert not list(runs.glob(".*.partial"))  # both started runs were completed on their workers
    for worker in cluster.workers:  # and their kernels stopped: the workers are free for the next sweep
        wait_for(lambda worker=worker: worker.exec_run(["python", "-c", NO_KERNEL]).exit_code == 0, 30,
                 "the worker's kernels to exit", worker)  # fmt: skip
    # --resume without --scheduler goes back to the cluster the sweep ran on, and says so.
    (cluster.shared / "go.txt").write_text("")
    sweep_id = Path(stdout.strip()).name
    resumed = cluster.containers.start(["kit", "sweep", "--resume", sweep_id, "--runs-dir", f"{SHARED}/runs"],
                                       **cluster.options())  # fmt: skip
    code, _, stderr = finished(resumed)
    assert code == 0, stderr[-3000:]
    assert f"on tcp://{cluster.scheduler}:8786" in stderr.splitlines()[0]
    workers = {worker.id[:12] for worker in cluster.workers}
    assert {run["host"] for run in records(cluster.shared).values()} <= workers  # every run ran on a worker
