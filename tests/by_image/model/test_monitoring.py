"""The alerting rules `kit deploy` writes, with a real Prometheus (Debian's package: `prometheus` and `promtool`):
the rule file is valid, and a Prometheus started here, scraping a model-image container, fires the out-of-range
alert when values the model cannot take are sent to it."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.by_image.model.test_model_image import PORTS, ready, request_body
from tests.utils.containers import wait_for
from tests.utils.http import get, post

PROMETHEUS = ("prometheus", "promtool")


@pytest.fixture(scope="module")
def deployed(trained, kit_image, tmp_path_factory) -> Path:
    """`kit deploy` of the diagnosis run, run in the kit image: the folder with alerts.yaml and dashboard.json."""
    folder = tmp_path_factory.mktemp("deployed")
    folder.chmod(0o777)
    command = ["docker", "run", "--rm", "-v", f"{trained}:/runs:ro", "-v", f"{folder}:/out", "-e", "KIT_RUNS_DIR=/runs",
               kit_image, "kit", "deploy", "diagnosis", "--image", "diagnosis:1", "-o", "/out/k8s"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return folder / "k8s"


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    found = {name: shutil.which(name) for name in PROMETHEUS}
    if not all(found.values()):
        pytest.fail("Debian's prometheus package is needed: apt-get install prometheus")
    return found


def test_the_rules_pass_promtool_and_the_dashboard_reads_the_servers_metrics(deployed, tools):
    result = subprocess.run([tools["promtool"], "check", "rules", str(deployed / "alerts.yaml")], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0 and "4 rules found" in result.stdout, result.stdout + result.stderr
    dashboard = json.loads((deployed / "dashboard.json").read_text())
    assert all(panel["targets"][0]["expr"] for panel in dashboard["panels"]) and len(dashboard["panels"]) >= 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alerts(url: str) -> dict[str, str]:
    with urllib.request.urlopen(f"{url}/api/v1/alerts", timeout=5) as response:
        found = json.loads(response.read())["data"]["alerts"]
    return {alert["labels"]["alertname"]: alert["state"] for alert in found}


def test_prometheus_scraping_the_model_image_fires_the_out_of_range_alert(deployed, tools, containers, trained,
                                                                         tmp_path):  # fmt: skip
    """The shipped rules, made fast (1 s scrapes, 15 s windows, no `for`) so that an alert fires within seconds."""
    url = ready(containers.start(ports=PORTS))
    target = url.removeprefix("http://")
    rules = yaml.safe_load((deployed / "alerts.yaml").read_text())
    for rule in rules["groups"][0]["rules"]:
        rule["for"] = "0s"
        rule["expr"] = rule["expr"].replace("[5m]", "[15s]")
    (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(rules))
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": ["alerts.yaml"],
              "scrape_configs": [{"job_name": "kit", "static_configs": [{"targets": [target]}]}]}  # fmt: skip
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    prometheus = subprocess.Popen(
        [tools["prometheus"], f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'db'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"),
    )  # fmt: skip
    try:
        server = f"http://127.0.0.1:{port}"
        wait_for(lambda: get(f"{server}/-/ready", timeout=2)[0] == 200, 60, "Prometheus to be ready")
        good = request_body(trained)
        bad = json.loads(json.dumps(good))
        for item in bad["inputs"]:
            item["data"] = [1e308] * len(item["data"])
        model = f"{url}/v2/models/train_tabular/infer"
        deadline = time.monotonic() + 90
        state: dict[str, str] = {}
        while time.monotonic() < deadline and state.get("KitModelInputsOutOfRange") != "firing":
            assert post(model, good)[0] == 200
            assert post(model, bad)[0] == 422
            time.sleep(0.5)
            state = alerts(server)
        assert state.get("KitModelInputsOutOfRange") == "firing", (tmp_path / "prometheus.log").read_text()[-2000:]
        assert "KitModelErrors" not in state  # no 5xx was answered
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)
