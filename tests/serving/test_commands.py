"""`kit serve`, `kit predict` and `kit deploy` as a shell runs them: refusals in one line, batch files of any size."""

from __future__ import annotations

import shutil
import socket

import numpy
import pandas as pd
import pytest
import yaml

from kit.serving.batch import predict_file
from kit.serving.model import open_model
from tests.utils.commands import kit as kit_command
from tests.utils.files import snapshot


@pytest.fixture
def copy(tmp_path):
    """A copy of a run, to damage without touching the shared one."""

    def make(run):
        return shutil.copytree(run.path, tmp_path / "runs" / run.id)

    return make


def tamper(path):
    path.write_bytes(path.read_bytes() + b"\0")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(lambda run: tamper(run / "artifacts" / "model.skops"), "was changed after its run", id="tampered"),
        # The record is checked against its manifest first (issue 18): a file missing or added is a damaged record.
        pytest.param(
            lambda run: (run / "artifacts" / "model.skops").unlink(),
            "artifacts/model.skops is missing",
            id="model-deleted",
        ),  # fmt: skip
        pytest.param(
            lambda run: tamper(run / "artifacts" / "model.signature.json"),
            "was changed after its run",
            id="signature-tampered",
        ),  # fmt: skip
        pytest.param(
            lambda run: (run / "manifest.json").write_text("{}"), "was added after its run", id="no-model-in-manifest"
        ),  # fmt: skip
        pytest.param(lambda run: (run / "status.json").write_text("{"), "is damaged: status.json", id="damaged-record"),
    ],
)
@pytest.mark.parametrize("command", ["serve", "predict"])
def test_a_model_that_is_not_what_the_run_recorded_is_never_loaded(diagnosis, copy, tmp_path, damage, message, command):
    run = copy(diagnosis)
    damage(run)
    (tmp_path / "in.csv").write_text("a\n1\n")
    args = [run, "--port", "0"] if command == "serve" else [run, tmp_path / "in.csv"]
    result = kit_command(command, *args, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr and result.stderr.startswith("error: ")
    assert not (tmp_path / "in.predictions.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["nope"], "no run 'nope'", id="unknown-run"),
        pytest.param(["failed"], "run failed failed: serve a run that succeeded", id="failed-run"),
        pytest.param(["diagnosis", "--workers", "0"], "--workers must be from 1 to 64", id="no-workers"),
        pytest.param(["diagnosis", "--port", "70000"], "--port must be from 0 to 65535", id="port-out-of-range"),
        pytest.param(["diagnosis", "--host", "256.0.0.1"], "cannot listen on 256.0.0.1", id="bad-host"),
        pytest.param([], "pass RUN", id="no-run"),
    ],
)
def test_serve_refuses_in_one_line(diagnosis, runs, args, message):
    import kit

    if "failed" in args and not (runs / "failed").exists():
        from tests.utils.notebooks import write_notebook

        with pytest.raises(kit.KitError):
            kit.run(write_notebook(runs.parent / "fail.ipynb", None, "1/0"), runs_dir=runs, run_id="failed")
    result = kit_command("serve", *args, "--runs-dir", runs, cwd=runs, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_a_port_in_use_is_one_line(diagnosis, runs):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = kit_command("serve", diagnosis.path, "--port", port, cwd=runs, timeout=60)
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port} (Address already in use)" in result.stderr


def test_predict_streams_in_chunks_and_gives_the_same_as_one_go(diagnosis, tmp_path):
    frame = pd.read_csv(diagnosis.path / "artifacts" / "heldout.csv").drop(columns="target")
    big = pd.concat([frame] * 30, ignore_index=True).sample(frac=1, axis=1, random_state=0)  # columns in any order
    big.to_csv(tmp_path / "big.csv", index=False)
    served = open_model(diagnosis)
    whole, count = predict_file(served, tmp_path / "big.csv", tmp_path / "whole.csv")
    chunked, _ = predict_file(served, tmp_path / "big.csv", tmp_path / "chunked.csv", chunk_rows=97)
    assert count == len(big)
    whole, chunked = pd.read_csv(whole), pd.read_csv(chunked)
    assert whole["label"].tolist() == chunked["label"].tolist()
    # BLAS sums a batch in blocks that depend on its size: probabilities agree to the last few bits, not all.
    assert numpy.allclose(whole.to_numpy(), chunked.to_numpy(), rtol=1e-12, atol=0)
    assert not [path.name for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_predict_reads_npy_for_images(digits, tmp_path):
    images = numpy.load(digits.path / "artifacts" / "heldout.npy")
    numpy.save(tmp_path / "flat.npy", images[..., 0])  # [N, 8, 8]: the channel may be left out
    result = kit_command("predict", digits.path, tmp_path / "flat.npy", "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    predictions = pd.read_csv(tmp_path / "out.csv")
    assert list(predictions.columns) == ["label", *(f"probability_{digit}" for digit in range(10))]
    assert len(predictions) == len(images)


TABLE = "mean radius,mean texture\n"


@pytest.mark.parametrize(
    ("model", "name", "content", "message"),
    [
        pytest.param("diagnosis", "in.txt", "x", "is not a .csv or .npy file", id="suffix"),
        pytest.param("diagnosis", "absent.csv", None, "does not exist", id="missing"),
        pytest.param("diagnosis", "in.csv", "", "is empty", id="empty"),
        pytest.param("diagnosis", "in.csv", TABLE + "1,2\n", "missing", id="missing-features"),
        pytest.param("diagnosis", "in.csv", "FEATURES,extra\n", "unknown columns ['extra']", id="extra-column"),
        pytest.param("diagnosis", "in.csv", "FEATURES\nROW\nROW,1\n", "line 3 has 31 values", id="ragged"),
        pytest.param(
            "diagnosis", "in.csv", "FEATURES\nROW\nTEXT\n", "line 3 holds a value that is not a number", id="text-cell"
        ),  # fmt: skip
        pytest.param("diagnosis", "in.csv", "FEATURES\nROW\nEMPTY\n", "row 3 holds NaN", id="empty-cell"),
        pytest.param("diagnosis", "in.csv", b"\xff\xfe\x00", "is not UTF-8", id="binary"),
        pytest.param(
            "digits", "in.csv", "a\n1\n", "takes arrays of shape [-1, 8, 8, 1], in an .npy file", id="csv-for-images"
        ),  # fmt: skip
        pytest.param("digits", "in.npy", numpy.zeros((3, 7, 7)), "holds an array of shape [3, 7, 7]", id="npy-shape"),
        pytest.param(
            "digits",
            "in.npy",
            numpy.array([["a"] * 64] * 8, dtype=object).reshape(8, 8, 8),
            "is not a NumPy array file",
            id="npy-objects",
        ),  # fmt: skip
        pytest.param("digits", "in.npy", b"not an array", "is not a NumPy array file", id="npy-garbage"),
    ],
)
def test_predict_refuses_a_bad_file_and_writes_nothing(request, tmp_path, model, name, content, message):
    run = request.getfixturevalue(model)
    features = list(pd.read_csv(request.getfixturevalue("diagnosis").path / "artifacts" / "heldout.csv", nrows=0))[:-1]
    path = tmp_path / name
    if isinstance(content, numpy.ndarray):
        numpy.save(path, content, allow_pickle=True)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        row = ",".join(["1.5"] * len(features))
        text = content.replace("FEATURES", ",".join(f'"{f}"' for f in features)).replace("ROW", row)
        path.write_text(text.replace("TEXT", "abc" + row[3:]).replace("EMPTY", "," + row[4:]))
    before = snapshot(tmp_path)
    result = kit_command("predict", run.path, path, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert snapshot(tmp_path) == before


def test_deploy_writes_a_kustomize_base(diagnosis, tmp_path):
    result = kit_command("deploy", diagnosis.path, "--image", "diagnosis:1", "-o", tmp_path / "k8s", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    files = sorted(path.name for path in (tmp_path / "k8s").iterdir())
    assert files == [
        "alerts.yaml",
        "dashboard.json",
        "deployment.yaml",
        "hpa.yaml",
        "kustomization.yaml",
        "pdb.yaml",
        "service.yaml",
    ]
    deployment = yaml.safe_load((tmp_path / "k8s" / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert deployment["spec"]["replicas"] == 2 and container["image"] == "diagnosis:1"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert deployment["metadata"]["annotations"]["kit.dev/run-id"] == diagnosis.id
    for path in (tmp_path / "k8s").iterdir():  # plain YAML people can read and patch: every value written out
        text = path.read_text()
        assert "&id" not in text and "*id" not in text and len(list(yaml.safe_load_all(text))) == 1, path.name
