"""The model image of a run, for real: built offline, slim, non-root, any UID, a read-only root, stops gracefully,
comes back after `kill -9`, refuses a tampered model, runs batch inference on a mounted folder."""

from __future__ import annotations

import csv
import hashlib
import http.client
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from tests.utils.containers import host_port, wait_for
from tests.utils.http import get, post
from tests.utils.images import build_model_image
from tests.utils.paths import ROOT

PORTS = {"8080/tcp": ("127.0.0.1", None)}


def rows(trained: Path, count: int | None = None) -> tuple[list[str], list[list[float]]]:
    with open(trained / "diagnosis" / "artifacts" / "heldout.csv") as file:
        reader = csv.reader(file)
        header = next(reader)
        data = [[float(value) for value in row[:-1]] for row in reader]  # the last column is the target
    return header[:-1], data[:count]


def request_body(trained: Path, repeat: int = 1) -> dict:
    features, data = rows(trained)
    data = data * repeat
    return {"inputs": [{"name": name, "datatype": "FP64", "shape": [len(data)], "data": [row[i] for row in data]}
                       for i, name in enumerate(features)]}  # fmt: skip


def base_url(container) -> str:
    return f"http://127.0.0.1:{host_port(container, '8080/tcp')}"


def ready(container, timeout: float = 60) -> str:
    """The server's URL once it answers ready (also across a restart, while the port is not mapped yet)."""

    def url_when_ready():
        try:
            url = base_url(container)
        except (KeyError, IndexError, TypeError):  # restarting: no port yet
            return None
        return url if get(f"{url}/v2/health/ready", timeout=2)[0] == 200 else None

    return wait_for(url_when_ready, timeout, "the model server", container)


def in_flight(url: str) -> float:
    line = next(line for line in get(f"{url}/metrics")[1].splitlines() if line.startswith("kit_requests_in_flight "))
    return float(line.split()[-1])


def test_labels_say_which_run_model_source_and_lock(docker_client, image, trained):
    labels = docker_client.images.get(image).labels
    model = trained / "diagnosis" / "artifacts" / "model.skops"
    assert labels["io.kit.run.id"] == "diagnosis"
    assert labels["io.kit.model.sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert labels["io.kit.lock.sha256"] == hashlib.sha256((ROOT / "requirements/serve.lock").read_bytes()).hexdigest()
    assert labels["io.kit.serve.variant"] == "serve"
    for key in ("source", "revision", "created"):
        assert labels[f"org.opencontainers.image.{key}"] not in ("", "unknown"), key


def test_the_scikit_learn_image_is_slim_and_holds_no_tensorflow_or_jupyterlab(docker_client, image, model_images,
                                                                             containers):  # fmt: skip
    size_mb = docker_client.images.get(image).attrs["Size"] / 1e6
    keras_mb = docker_client.images.get(model_images["digits"]).attrs["Size"] / 1e6
    print(f"model image sizes: scikit-learn {size_mb:.0f} MB, Keras {keras_mb:.0f} MB")
    assert size_mb < 600
    modules = "('tensorflow', 'jupyterlab', 'papermill', 'nbformat')"
    probe = f"import importlib.util as u; print([m for m in {modules} if u.find_spec(m)])"
    assert containers.run(["python", "-c", probe]).strip() == "[]"
    assert containers.run(["sh", "-c", "command -v pip gcc || true"]).strip() == ""


def test_it_serves_as_a_non_root_user_and_turns_healthy(containers, trained):
    container = containers.start(ports=PORTS)
    url = ready(container)
    assert container.exec_run(["id", "-u"]).output.decode().strip() == "1000"
    status, answer = post(f"{url}/v2/models/train_tabular/infer", request_body(trained))
    assert status == 200 and answer["model_version"] == "diagnosis"

    def healthy():
        container.reload()
        return container.attrs["State"]["Health"]["Status"] == "healthy"

    wait_for(healthy, 30, "the HEALTHCHECK to say healthy", container)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"user": "4321:4321"}, id="arbitrary-uid"),
        pytest.param(
            {"read_only": True, "tmpfs": {"/tmp": ""}, "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"]},
            id="read-only-root-no-capabilities",
        ),  # fmt: skip
    ],
)
def test_it_serves_under_any_uid_and_a_read_only_root(containers, trained, options):
    url = ready(containers.start(ports=PORTS, **options))
    assert post(f"{url}/v2/models/train_tabular/infer", request_body(trained))[0] == 200


def test_the_keras_image_serves_images(model_images, docker_client, trained):
    container = docker_client.containers.run(model_images["digits"], detach=True, ports=PORTS)
    try:
        url = ready(container, timeout=120)
        body = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [2, 8, 8, 1], "data": [0.5] * 128}]}
        status, answer = post(f"{url}/v2/models/train_images/infer", body)
        assert status == 200 and [output["shape"] for output in answer["outputs"]] == [[2], [2, 10]]
    finally:
        container.remove(force=True)


def test_batch_inference_on_a_mounted_folder(containers, trained, tmp_path):
    features, data = rows(trained)
    with open(tmp_path / "in.csv", "w", newline="") as file:
        csv.writer(file).writerows([features, *data])
    tmp_path.chmod(0o777)
    containers.run(["kit", "predict", "/data/in.csv", "-o", "/data/out.csv"],
                   volumes={str(tmp_path): {"bind": "/data", "mode": "rw"}})  # fmt: skip
    predicted = list(csv.reader(open(tmp_path / "out.csv")))
    assert predicted[0] == ["label", "probability_0", "probability_1"] and len(predicted) == len(data) + 1


def refuses(url: str) -> bool:
    """Whether the server no longer takes new connections (it is shutting down)."""
    try:
        get(f"{url}/v2/health/live", timeout=2)
    except OSError:
        return True
    return False


def test_docker_stop_lets_requests_in_flight_finish(containers, trained):
    container = containers.start(ports=PORTS)
    url = ready(container)
    port = host_port(container, "8080/tcp")
    body = json.dumps(request_body(trained, repeat=100)).encode()  # 14,300 rows, 7 MB
    half = len(body) // 2
    connections = []
    for _ in range(4):  # headers and half the body: each request is in flight until the rest comes
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.putrequest("POST", "/v2/models/train_tabular/infer")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body[:half])
        connections.append(connection)
    wait_for(lambda: in_flight(url) >= 5, 30, "the four requests (and this one) to be in flight", container)
    started = time.monotonic()
    stopping = threading.Thread(target=container.stop, kwargs={"timeout": 3})
    stopping.start()
    wait_for(lambda: refuses(url), 3, "the server to stop taking new connections", container)
    for connection in connections:  # the server is shutting down: the requests it took still complete
        connection.send(body[half:])
    statuses = [connection.getresponse().status for connection in connections]
    stopping.join()
    assert statuses == [200] * 4
    assert time.monotonic() - started < 3
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0, container.logs().decode()[-2000:]


KILL_SERVER = (
    "import os, signal\n"
    "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "    line = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')\n"
    "    if int(pid) != os.getpid() and line[1:3] == [b'/opt/venv/bin/kit', b'serve']:\n"
    "        os.kill(int(pid), signal.SIGKILL)\n"
)


def test_after_kill_9_the_container_restarts_and_serves_again(containers, trained):
    container = containers.start(ports=PORTS, restart_policy={"Name": "on-failure"})
    url = ready(container)
    assert container.exec_run(["python", "-c", KILL_SERVER]).exit_code in (0, 137)
    wait_for(lambda: container.reload() or container.attrs["RestartCount"] >= 1, 30, "a restart", container)
    url = ready(container)
    statuses = [post(f"{url}/v2/models/train_tabular/infer", request_body(trained))[0] for _ in range(50)]
    assert statuses == [200] * 50


def test_a_tampered_model_is_refused_at_build_and_at_start(containers, trained, tmp_path):
    tampered = shutil.copytree(trained / "diagnosis", tmp_path / "diagnosis")
    model = tampered / "artifacts" / "model.skops"
    model.write_bytes(model.read_bytes() + b"\0")
    result = build_model_image(tampered, "kit-model-test:never")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "was changed after its run" in result.stderr
    model.chmod(0o644)
    container = containers.start(ports={}, volumes={str(model): {"bind": "/opt/runs/diagnosis/artifacts/model.skops",
                                                                 "mode": "ro"}})  # fmt: skip
    assert container.wait(timeout=60)["StatusCode"] == 2
    logs = container.logs().decode().strip().splitlines()
    assert len(logs) == 1 and logs[0].startswith("error: ") and "was changed after its run" in logs[0]
