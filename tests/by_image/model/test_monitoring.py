"""The alerting rules `kit deploy` writes, with a real Prometheus (Debian's package: `prometheus` and `promtool`):
the rule file is valid, and a Prometheus started here, scraping a model-image container, keeps the out-of-range
alert quiet for rows inside the training range, fires it for finite rows outside (answered 200), and fires the
refused alert for values the model cannot take (422)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
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
    assert result.returncode == 0 and "5 rules found" in result.stdout, result.stdout + result.stderr
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


def query(url: str, expr: str) -> list[float]:
    """The values of a PromQL expression now (one per series; none when it has no data)."""
    address = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(address, timeout=5) as response:
        return [float(item["value"][1]) for item in json.loads(response.read())["data"]["result"]]


def inside_and_outside(trained: Path) -> tuple[dict, dict]:
    """Held-out rows clipped to the training ranges the signature recorded; and the same rows with one feature far
    outside its range (still finite, still answered)."""
    signature = json.loads((trained / "diagnosis" / "artifacts" / "model.signature.json").read_text())
    ranges = {item["input"]: (item["min"], item["max"]) for item in signature["ranges"]}
    inside = request_body(trained)
    for item in inside["inputs"]:
        low, high = ranges[item["name"]]
        item["data"] = [min(max(value, low), high) for value in item["data"]]
    outside = json.loads(json.dumps(inside))
    for item in outside["inputs"]:
        if item["name"] == "mean radius":
            item["data"] = [ranges["mean radius"][1] * 3] * len(item["data"])
    return inside, outside


def test_prometheus_scraping_the_model_image_fires_the_out_of_range_alerts(deployed, tools, containers, trained,
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
        inside, outside = inside_and_outside(trained)
        refused = json.loads(json.dumps(inside))
        for item in refused["inputs"]:
            item["data"] = [1e308] * len(item["data"])
        model = f"{url}/v2/models/train_tabular/infer"
        rule = next(rule for rule in rules["groups"][0]["rules"] if rule["alert"] == "KitModelInputsOutOfRange")
        share = rule["expr"].rsplit(" > ", 1)[0]  # the share of rows outside, without the threshold
        # In range: the rule is evaluated on real data (the share is 0), and never pending nor firing.
        evaluated, deadline = 0, time.monotonic() + 90
        while evaluated < 10 and time.monotonic() < deadline:
            assert post(model, inside)[0] == 200
            time.sleep(0.5)
            assert "KitModelInputsOutOfRange" not in alerts(server)
            evaluated += query(server, share) == [0.0]
        assert evaluated == 10, "the out-of-range share was never evaluated: " + str(query(server, share))
        # Outside (answered) and beyond what the model can take (refused): both alerts fire.
        wanted = {"KitModelInputsOutOfRange": "firing", "KitModelInputsRefused": "firing"}
        deadline = time.monotonic() + 90
        state: dict[str, str] = {}
        while time.monotonic() < deadline and {name: state.get(name) for name in wanted} != wanted:
            assert post(model, inside)[0] == 200
            assert post(model, outside)[0] == 200
            assert post(model, refused)[0] == 422
            time.sleep(0.5)
            state = alerts(server)
        assert {name: state.get(name) for name in wanted} == wanted, (tmp_path / "prometheus.log").read_text()[-2000:]
        assert "KitModelErrors" not in state  # no 5xx was answered
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)
