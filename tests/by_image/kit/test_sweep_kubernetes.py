"""`kit sweep --emit-k8s`: manifests a Kubernetes 1.33 API server accepts, and pods that give the local records.

No cluster runs here. The manifests are checked offline against the Kubernetes 1.33 schemas in strict mode
(kubernetes-validate bundles them); each pod's exact command, environment and mounts are run with `docker run`
of the image for every index, as a non-root UID the image does not know, and the records they write are compared
with those of the same sweep run by `kit sweep` here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.utils.ci import missing
from tests.utils.paths import ROOT

#: A UID and GID the image does not know, as a cluster's security policy may pick.
UID, GID = 4321, 4321
SEEDS = (0, 1)


def docker(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def emitted(image, tmp_path_factory) -> Path:
    """The manifests `kit sweep --emit-k8s` writes for train_tabular.ipynb with seeds 0 and 1."""
    out = tmp_path_factory.mktemp("emitted")
    out.chmod(0o777)
    seeds = ",".join(map(str, SEEDS))
    result = docker("run", "--rm", "-v", f"{out}:/out", image, "kit", "sweep", "notebooks/train_tabular.ipynb",
                    "-p", "seed", seeds, "--emit-k8s", "/out/k8s", "--k8s-image", image)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return out / "k8s"


def documents(emitted: Path) -> list[dict]:
    return [doc for name in ("job.yaml", "pvc.yaml") for doc in yaml.safe_load_all((emitted / name).read_text())]


def test_the_manifests_are_valid_kubernetes_1_33_in_strict_mode(emitted):
    try:
        import kubernetes_validate
    except ImportError:
        missing("kubernetes-validate is not installed: run `make venv`")
    found = documents(emitted)
    assert [doc["kind"] for doc in found] == ["ConfigMap", "Job", "PersistentVolumeClaim"]
    assert not any(mark in (emitted / "job.yaml").read_text() for mark in ("&id", "*id"))  # no anchors or aliases
    for doc in found:
        kubernetes_validate.validate(doc, "1.33.0", strict=True)  # raises ValidationError
    job = found[1]["spec"]
    assert job["completionMode"] == "Indexed" and job["completions"] == len(SEEDS) == job["parallelism"]
    assert job["backoffLimitPerIndex"] >= 1
    rules = job["podFailurePolicy"]["rules"]
    fail = {"action": "FailIndex", "onExitCodes": {"containerName": "point", "operator": "In", "values": [1, 2]}}
    assert fail in rules  # the notebook failed (1) or cannot run (2): retrying does not help
    ignored = [rule for rule in rules if rule["action"] == "Ignore"]
    assert ignored[0]["onPodConditions"][0]["type"] == "DisruptionTarget"  # evictions do not count
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["volumes"][1]["persistentVolumeClaim"]["claimName"] == found[2]["metadata"]["name"]
    requests = pod["containers"][0]["resources"]["requests"]
    assert requests["cpu"] and requests["memory"].endswith("Mi")
    broken = json.loads(json.dumps(found[1]))
    broken["spec"]["completionMode"] = "Indexed"
    broken["spec"]["template"]["spec"]["containers"][0]["comand"] = ["typo"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.33.0", strict=True)  # strict mode catches a misspelt field


def pod(emitted: Path, index: int, runs: Path, config: Path) -> subprocess.CompletedProcess:
    """What Kubernetes runs for completion ``index``: the container's command, env and mounts, as UID 4321."""
    job = documents(emitted)[1]["spec"]["template"]["spec"]
    container = job["containers"][0]
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    env = [f"{item['name']}={item['value']}" for item in container["env"]] + [f"JOB_COMPLETION_INDEX={index}"]
    args = ["run", "--rm", "--user", f"{UID}:{GID}"]
    args += [arg for item in env for arg in ("--env", item)]
    args += ["-v", f"{config}:{mounts['sweep']['mountPath']}:ro", "-v", f"{runs}:{mounts['runs']['mountPath']}"]
    return docker(*args, "--entrypoint", container["command"][0], container["image"], *container["command"][1:])


def outcome(run: Path) -> dict:
    manifest = json.loads((run / "manifest.json").read_text())
    return {
        "params": (run / "params.json").read_bytes(),
        "metrics": (run / "metrics.json").read_bytes(),
        "artifacts": {name: entry.get("content_sha256") or entry["sha256"] for name, entry in manifest.items()},
        "status": json.loads((run / "status.json").read_text())["status"],
    }


def test_each_pods_command_gives_the_records_kit_sweep_gives_here(image, emitted, tmp_path):
    if os.geteuid() != 0:
        missing("the test gives a folder to another UID, which needs root (CI runs as root)")
    config = tmp_path / "configmap"  # the ConfigMap's data as Kubernetes mounts it
    config.mkdir()
    for name, text in documents(emitted)[0]["data"].items():
        (config / name).write_text(text)
    claim = tmp_path / "claim"
    claim.mkdir()
    os.chown(claim, UID, GID)
    sweep = json.loads((config / "sweep.json").read_text())
    dead = claim / f".{sweep['points'][1]['runs'][-1]}+deadbeef.partial"  # what a pod killed mid-run leaves
    dead.mkdir()
    (dead / "params.json").write_text("{}")
    for index in range(len(SEEDS)):
        result = pod(emitted, index, claim, config)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip() == sweep["points"][index]["runs"][-1]
    again = pod(emitted, 0, claim, config)  # a pod retried after its point was recorded: nothing runs again
    assert again.returncode == 0 and again.stdout.strip() == sweep["points"][0]["runs"][-1]
    published = sorted(path.name for path in claim.iterdir() if not path.name.startswith(".") and path.name != "sweeps")
    assert published == sorted(point["runs"][-1] for point in sweep["points"])  # one record per point
    assert (claim / "sweeps" / sweep["sweep_id"] / "sweep.json").is_file()  # `kit sweep show` finds it there
    local = tmp_path / "local"
    local.mkdir()
    os.chown(local, UID, GID)
    result = docker("run", "--rm", "--user", f"{UID}:{GID}", "-v", f"{local}:/runs", image, "kit", "sweep",
                    "notebooks/train_tabular.ipynb", "-p", "seed", ",".join(map(str, SEEDS)), "--threads", "1",
                    "--runs-dir", "/runs")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    here = json.loads((local / "sweeps" / Path(result.stdout.strip()).name / "sweep.json").read_text())
    for index in range(len(SEEDS)):
        on_cluster = outcome(claim / sweep["points"][index]["runs"][-1])
        assert on_cluster == outcome(local / here["points"][index]["runs"][-1])
        assert on_cluster["status"] == "succeeded" and "model.skops" in on_cluster["artifacts"]
    shown = docker("run", "--rm", "--user", f"{UID}:{GID}", "-v", f"{claim}:/runs", image, "kit", "sweep", "show",
                   sweep["sweep_id"], "--runs-dir", "/runs")  # fmt: skip
    assert shown.returncode == 0 and shown.stdout.count("succeeded") >= 2, shown.stderr


def test_the_readme_says_how_to_run_the_job_on_a_cluster():
    readme = (ROOT / "README.md").read_text()
    assert "--emit-k8s" in readme and "kubectl apply" in readme and "no kubernetes cluster" in readme.lower()
