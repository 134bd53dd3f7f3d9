"""`kit sweep --scheduler` on a cluster that shares nothing but the scheduler: each point ships, its record comes back.

A scheduler and two workers, each a container of the image on a Docker network the test creates, with no volume
at all; the client is a fifth container whose only folder from outside is its own (the test reads the records
there). The records the client commits must be the local sweep's, bit for bit, and each point recorded once
whatever dies: a worker mid-sweep, or the client itself (then `--resume` finishes the sweep).
"""

from __future__ import annotations

import hashlib
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

CLIENT = "/home/jovyan/client"


#: Deterministic results from x (metrics, an array, printed output); it sleeps ``pause`` seconds and can write an
#: artifact of ``mb`` MB of random bytes.
NOTEBOOK = json.dumps({
    "cells": [
        cell("x = 0\npause = 0.0\nmb = 0", "parameters"),
        cell("import kit, numpy, time\nkit.log_metric('started', x)\ntime.sleep(pause)"),
        cell("rng = numpy.random.default_rng(x)\nvalues = rng.normal(size=1000)\n"
             "numpy.save(kit.artifact_path('values.npy'), values)\n"
             "kit.artifact_path('nested/big.bin').write_bytes(rng.bytes(mb << 20))\n"
             "kit.log_metric('mean', float(values.mean()))\nprint(values[:3])"),
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
})  # fmt: skip

#: The files of a record that must be equal wherever it ran (the others say where and when).
SAME = ("params.json", "metrics.json", "manifest.json")


@dataclass
class Cluster:
    """The cluster's containers and network, and the client's own folder as the host sees it."""

    containers: Containers
    network: str
    scheduler: str
    workers: list[Container]
    client: Path

    @property
    def address(self) -> str:
        return f"tcp://{self.scheduler}:8786"

    def kit(self, *args: str, env: dict | None = None) -> Container:
        """``kit ARGS`` in a client container (the client's folder its only mount)."""
        volumes = {str(self.client): {"bind": CLIENT, "mode": "rw"}}
        return self.containers.start(["kit", *args], network=self.network, ports={}, volumes=volumes,
                                     working_dir=CLIENT, environment=env or {})  # fmt: skip

    def sweep(self, *args: str, env: dict | None = None) -> Container:
        return self.kit("sweep", "nb.ipynb", *args, "--scheduler", self.address, "--runs-dir", "runs", env=env)

    def running(self, worker: Container) -> int:
        """Points executing on ``worker`` now (their records being written in its private folders)."""
        found = worker.exec_run(["bash", "-c", "ls -d /tmp/dask-scratch-space/*/kit-points/*/runs/.*.partial "
                                 "2>/dev/null | wc -l"]).output  # fmt: skip
        return int(found.decode().strip() or 0)


def start_worker(containers: Containers, network: str, scheduler: str, name: str, **kwargs) -> Container:
    return containers.start(["dask", "worker", f"tcp://{scheduler}:8786", "--nthreads", "1", "--no-dashboard"],
                            name=name, network=network, ports={}, **kwargs)  # fmt: skip


@pytest.fixture
def cluster(docker_client: docker.DockerClient, containers: Containers, tmp_path: Path) -> Iterator[Cluster]:
    """A scheduler and two single-threaded workers of the image, without volumes, on a network of their own; the
    client's folder holds the notebook. All removed after, passed or failed."""
    token = secrets.token_hex(4)
    network = docker_client.networks.create(f"dask-ship-test-{token}")
    client = tmp_path / "client"
    client.mkdir()
    client.chmod(0o777)  # the containers' user (jovyan) writes the runs
    (client / "nb.ipynb").write_text(NOTEBOOK)
    found = Cluster(containers, network.name, f"dask-ship-scheduler-{token}", [], client)
    try:
        scheduler = containers.start(["dask", "scheduler", "--no-dashboard"], name=found.scheduler,
                                     network=network.name, ports={})  # fmt: skip
        wait_for(lambda: "Scheduler at:" in scheduler.logs().decode(), 60, "the scheduler", scheduler)
        for index in range(2):
            name = f"dask-ship-worker-{index}-{token}"
            found.workers.append(start_worker(containers, network.name, found.scheduler, name))
        for worker in found.workers:
            wait_for(lambda worker=worker: "Registered to" in worker.logs().decode(), 60, "a worker", worker)
        yield found
    finally:
        containers.remove_all()
        network.remove()


def finished(container: Container, timeout: int = 600) -> tuple[int, str, str]:
    status = container.wait(timeout=timeout)
    return status["StatusCode"], container.logs(stderr=False).decode(), container.logs(stdout=False).decode()


def sweep_record(runs: Path, stdout: str) -> dict:
    return json.loads((runs / "sweeps" / Path(stdout.strip().splitlines()[-1]).name / "sweep.json").read_text())


def runs_in(runs: Path) -> list[Path]:
    return sorted(path for path in runs.iterdir() if not path.name.startswith(".") and path.name != "sweeps")


def results(run: Path) -> dict[str, str]:
    """What must be equal in two records of the same point: the files in SAME, every artifact, the outputs."""
    found = {name: (run / name).read_text() for name in SAME}
    for artifact in sorted((run / "artifacts").rglob("*")):
        if artifact.is_file():
            found[artifact.relative_to(run).as_posix()] = hashlib.sha256(artifact.read_bytes()).hexdigest()
    cells = json.loads((run / "notebook.ipynb").read_text())["cells"]
    found["outputs"] = json.dumps([cell.get("outputs") for cell in cells])
    return found


def worker_of(run: Path) -> dict:
    return json.loads((run / "environment.json").read_text())["worker"]


def test_six_shipped_points_give_the_local_sweeps_records_bit_for_bit(cluster):
    code, stdout, stderr = finished(cluster.sweep("-p", "x", "0,1,2,3,4,5", "--dask-mode", "auto"))
    assert code == 0, stderr[-3000:]
    assert "each point shipped to its worker" in stderr.splitlines()[0]  # auto: the workers share nothing here
    record = sweep_record(cluster.client / "runs", stdout)
    assert record["dask_mode"] == "ship" and record["status"] == "succeeded"
    shipped = runs_in(cluster.client / "runs")
    assert [run.name for run in shipped] == sorted(point["runs"][0] for point in record["points"])
    assert not list((cluster.client / "runs").glob(".*"))  # nothing hidden left behind
    hosts = {worker.id[:12] for worker in cluster.workers}
    assert {worker_of(run)["host"] for run in shipped} == hosts  # both took points, each run says which

    code, stdout, stderr = finished(cluster.kit("sweep", "nb.ipynb", "-p", "x", "0,1,2,3,4,5", "--workers", "2",
                                                "--threads", "1", "--runs-dir", "local"))  # fmt: skip
    assert code == 0, stderr[-3000:]
    local = runs_in(cluster.client / "local")
    assert len(local) == 6
    for here, there in zip(local, shipped, strict=True):
        assert here.name.rsplit(".", 1)[1] == there.name.rsplit(".", 1)[1]  # the same point
        assert results(here) == results(there)
        assert sorted(path.relative_to(here).as_posix() for path in here.rglob("*")) == sorted(
            path.relative_to(there).as_posix() for path in there.rglob("*")
        )  # the same files, no more


def test_a_killed_workers_points_finish_on_the_other_once(cluster):
    driver = cluster.sweep("-p", "x", "0,1,2,3", "-p", "pause", "8", "--dask-mode", "ship")
    wait_for(lambda: all(cluster.running(worker) for worker in cluster.workers), 180, "a point on each worker",
             driver)  # fmt: skip
    victim, survivor = cluster.workers
    victim.kill()
    code, stdout, stderr = finished(driver)
    assert code == 0, stderr[-3000:]
    record = sweep_record(cluster.client / "runs", stdout)
    assert [point["status"] for point in record["points"]] == ["succeeded"] * 4
    assert [len(point["runs"]) for point in record["points"]] == [1] * 4  # no point recorded twice
    found = runs_in(cluster.client / "runs")
    assert [run.name for run in found] == sorted(point["runs"][0] for point in record["points"])
    assert survivor.id[:12] in {worker_of(run)["host"] for run in found}
    assert sum(worker_of(run)["host"] == survivor.id[:12] for run in found) >= 3  # the victim's point moved too


def test_a_killed_client_leaves_a_sweep_that_resumes_with_every_point_once(cluster):
    driver = cluster.sweep("-p", "x", "0,1,2,3,4,5", "-p", "pause", "3", "--dask-mode", "ship")
    runs = cluster.client / "runs"
    wait_for(lambda: runs.is_dir() and runs_in(runs), 300, "a first point recorded", driver)
    driver.kill()  # SIGKILL: nothing of the client's is cleaned up
    assert len(runs_in(runs)) < 6
    sweep_id = next((runs / "sweeps").iterdir()).name
    code, stdout, stderr = finished(cluster.kit("sweep", "--resume", sweep_id, "--runs-dir", "runs"))
    assert code == 0, stderr[-3000:]
    record = sweep_record(runs, stdout)
    assert [point["status"] for point in record["points"]] == ["succeeded"] * 6
    found = [run.name for run in runs_in(runs)]
    assert len(found) == 6  # each point recorded once: the resumed ones under the id the killed sweep gave them
    assert sorted(point["runs"][-1] for point in record["points"]) == found


def test_an_artifact_over_the_limit_is_an_error_and_one_under_it_comes_back_in_chunks(cluster):
    limit = {"KIT_DASK_MAX_RECORD_MB": "40"}
    code, stdout, stderr = finished(cluster.sweep("-p", "mb", "0,20,50", "--dask-mode", "ship", env=limit))
    assert code == 1, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "1 of 3 points failed: point 2 (mb=50)" in errors[0]
    record = sweep_record(cluster.client / "runs", stdout)
    assert [point["status"] for point in record["points"]] == ["succeeded", "succeeded", "error"]
    message = record["points"][2]["message"]
    assert "more than the 40 MB a Dask worker sends back" in message and "KIT_DASK_MAX_RECORD_MB" in message
    assert "nested/big.bin 52 MB" in message
    found = runs_in(cluster.client / "runs")
    assert len(found) == 2  # the point over the limit left nothing here
    big = found[1] / "artifacts" / "nested" / "big.bin"
    manifest = json.loads((found[1] / "manifest.json").read_text())
    assert big.stat().st_size == 20 << 20  # more than one chunk of 16 MB, checked against the worker's sha256
    assert manifest["nested/big.bin"]["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
    for worker in cluster.workers:  # the workers' copies are gone once the client has them
        wait_for(lambda worker=worker: kept(worker) == 0, 30, "the worker's copies removed", worker)


def kept(worker: Container) -> int:
    """Points whose folder a worker keeps."""
    found = worker.exec_run(["bash", "-c", "ls /tmp/dask-scratch-space/*/kit-points/ 2>/dev/null | grep -c ."])
    return int(found.output.decode().strip() or 0)


@pytest.fixture
def lone_scheduler(docker_client: docker.DockerClient, containers: Containers, tmp_path: Path) -> Iterator[Cluster]:
    """A scheduler without workers on a network of its own (the test adds the workers it needs)."""
    token = secrets.token_hex(4)
    network = docker_client.networks.create(f"dask-ship-test-{token}")
    client = tmp_path / "client"
    client.mkdir()
    client.chmod(0o777)
    (client / "nb.ipynb").write_text(NOTEBOOK)
    found = Cluster(containers, network.name, f"dask-ship-scheduler-{token}", [], client)
    try:
        scheduler = containers.start(["dask", "scheduler", "--no-dashboard"], name=found.scheduler,
                                     network=network.name, ports={})  # fmt: skip
        wait_for(lambda: "Scheduler at:" in scheduler.logs().decode(), 60, "the scheduler", scheduler)
        yield found
    finally:
        containers.remove_all()
        network.remove()


#: Make a worker's kit another version (a dist-info found first) or its lock another file, then start it.
ANOTHER_KIT = ("mkdir -p /tmp/old/kit-0.0.1.dist-info && printf 'Metadata-Version: 2.1\\nName: kit\\nVersion: "
               "0.0.1\\n' > /tmp/old/kit-0.0.1.dist-info/METADATA && PYTHONPATH=/tmp/old exec dask worker {address} "
               "--nthreads 1 --no-dashboard")  # fmt: skip
ANOTHER_LOCK = ("echo 'numpy==0.0.0' >> /etc/kit/requirements.lock && exec dask worker {address} --nthreads 1 "
                "--no-dashboard")  # fmt: skip


@pytest.mark.parametrize(
    ("script", "user", "message"),
    [
        pytest.param(ANOTHER_KIT, "jovyan", "runs kit 0.0.1", id="another-kit-version"),
        pytest.param(ANOTHER_LOCK, "root", "(lock ", id="another-lock"),
    ],
)
def test_a_worker_of_another_kit_or_lock_is_one_error_before_any_point_runs(lone_scheduler, script, user, message):
    # Started as root, the image's start.sh becomes jovyan (as the Docker Stacks do) unless NB_UID=0 keeps root.
    environment = {"NB_UID": "0"} if user == "root" else {}
    worker = lone_scheduler.containers.start(["bash", "-c", script.format(address=lone_scheduler.address)],
                                             network=lone_scheduler.network, ports={}, user=user,
                                             environment=environment)  # fmt: skip
    wait_for(lambda: "Registered to" in worker.logs().decode(), 60, "the worker", worker)
    code, _, stderr = finished(lone_scheduler.sweep("-p", "x", "0,1"))
    assert code == 2, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and len(errors[0]) < 300, stderr[-3000:]
    assert "cannot run this sweep: worker tcp://" in errors[0] and message in errors[0]
    assert "start every worker from the client's image" in errors[0]
    assert "Traceback" not in stderr
    assert not (lone_scheduler.client / "runs").exists()  # nothing written


def test_no_worker_is_one_error_after_the_wait(lone_scheduler):
    code, _, stderr = finished(lone_scheduler.sweep("-p", "x", "0,1", env={"KIT_DASK_WAIT": "3"}), timeout=120)
    assert code == 2, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no worker joined it in 3 s" in errors[0] and "KIT_DASK_WAIT" in errors[0]
    assert "Traceback" not in stderr
    assert not (lone_scheduler.client / "runs").exists()
