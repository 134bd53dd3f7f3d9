"""`kit serve` for real: every endpoint of the Open Inference Protocol, for the three kinds of model the notebooks
train; predictions over HTTP equal `kit predict`'s and reproduce the metrics the training run recorded."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy
import pandas as pd
import pytest

import kit
from tests.utils.http import get, post

MODELS = ["diagnosis", "regression", "digits"]


def heldout(run):
    """The run's held-out rows (features only) and their labels."""
    if (run.path / "artifacts" / "heldout.npy").exists():
        return numpy.load(run.path / "artifacts" / "heldout.npy"), numpy.load(
            run.path / "artifacts" / "heldout_labels.npy"
        )
    frame = pd.read_csv(run.path / "artifacts" / "heldout.csv")
    return frame.drop(columns="target"), frame["target"]


def request_for(rows) -> dict:
    """An inference request: one input per feature for a table, one tensor for images."""
    if isinstance(rows, pd.DataFrame):
        return {"inputs": [{"name": name, "datatype": "FP64", "shape": [len(rows)], "data": rows[name].tolist()}
                           for name in rows.columns]}  # fmt: skip
    return {"inputs": [{"name": "input", "datatype": "FP32", "shape": list(rows.shape), "data": rows.ravel().tolist()}]}


def outputs(answer: dict) -> dict[str, numpy.ndarray]:
    return {item["name"]: numpy.asarray(item["data"]).reshape(item["shape"]) for item in answer["outputs"]}


@pytest.mark.parametrize("model", MODELS)
def test_health_metadata_and_readiness(request, serve, model):
    run = request.getfixturevalue(model)
    server = serve(run)
    assert get(f"{server.url}/v2/health/live") == (200, {"live": True})
    assert get(f"{server.url}/v2/health/ready") == (200, {"name": server.name, "ready": True})
    assert get(f"{server.model}/ready") == (200, {"name": server.name, "ready": True})
    assert get(f"{server.url}/v2")[1]["name"] == "kit"
    status, metadata = get(server.model)
    assert status == 200 and metadata["versions"] == [run.id]
    assert get(f"{server.model}/versions/{run.id}")[1] == metadata
    parameters = metadata["parameters"]
    assert parameters["run_id"] == run.id and parameters["metrics"] == run.metrics
    assert parameters["run_parameters"] == run.params
    model_file = parameters["model_file"]
    assert parameters["model_sha256"] == run.manifest[model_file]["sha256"]
    names = [tensor["name"] for tensor in metadata["outputs"]]
    if model == "digits":
        assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 8, 8, 1]}]
        assert names == ["label", "probabilities"] and parameters["classes"] == list(range(10))
    else:
        features = list(heldout(run)[0].columns)
        assert [tensor["name"] for tensor in metadata["inputs"]] == features
        assert names == (["label", "probabilities"] if model == "diagnosis" else ["prediction"])


@pytest.mark.parametrize("model", MODELS)
def test_predictions_over_http_equal_kit_predict_and_the_training_metrics(request, serve, tmp_path, model):
    run = request.getfixturevalue(model)
    server = serve(run)
    rows, labels = heldout(run)
    status, answer = post(f"{server.model}/infer", request_for(rows))
    assert status == 200, answer
    assert answer["model_name"] == server.name and answer["model_version"] == run.id
    served = outputs(answer)
    predicted = served.get("label", served.get("prediction"))
    task = "regression" if model == "regression" else "classification"
    scores = served["probabilities"][:, 1] if model == "diagnosis" else None
    assert kit.evaluate(task, labels, predicted, scores, log=False) == {
        name: value for name, value in run.metrics.items() if name != "loss"
    }
    source = tmp_path / ("rows.npy" if model == "digits" else "rows.csv")
    numpy.save(source, rows) if model == "digits" else rows.to_csv(source, index=False)
    result = subprocess.run(["kit", "predict", str(run.path), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    batch = pd.read_csv(result.stdout.strip())
    assert batch.iloc[:, 0].tolist() == predicted.tolist()
    if "probabilities" in served:
        assert numpy.array_equal(batch.iloc[:, 1:].to_numpy(), served["probabilities"])


def test_a_single_row_as_a_matrix_and_as_columns_gives_the_same(serve, diagnosis):
    server = serve(diagnosis)
    rows, _ = heldout(diagnosis)
    one = rows.head(1)
    matrix = {"inputs": [{"name": "rows", "datatype": "FP64", "shape": [1, 30], "data": one.to_numpy().tolist()}]}
    by_column = post(f"{server.model}/infer", request_for(one))
    assert by_column[0] == 200 and post(f"{server.model}/infer", matrix)[1]["outputs"] == by_column[1]["outputs"]
    only_label = {**request_for(one), "outputs": [{"name": "label"}], "id": "req-1"}
    status, answer = post(f"{server.model}/infer", only_label)
    assert status == 200 and [item["name"] for item in answer["outputs"]] == ["label"] and answer["id"] == "req-1"


def test_metrics_count_requests_latency_and_load_time(serve, regression):
    server = serve(regression)
    post(f"{server.model}/infer", b"not json")
    status, text = get(f"{server.url}/metrics")
    assert status == 200
    assert 'kit_requests_total{endpoint="infer",status="400"}' in text
    assert "kit_request_duration_seconds_bucket" in text and "kit_requests_in_flight" in text
    assert "kit_model_load_seconds" in text and "kit_inference_rows_total" in text


def test_200_concurrent_requests_all_succeed(serve, diagnosis):
    server = serve(diagnosis)
    rows, _ = heldout(diagnosis)
    bodies = [request_for(rows.iloc[[index % len(rows)]]) for index in range(200)]
    with ThreadPoolExecutor(200) as pool:
        answers = list(pool.map(lambda body: post(f"{server.model}/infer", body, timeout=60), bodies))
    assert [status for status, _ in answers] == [200] * 200
    first = outputs(answers[0][1])["label"].tolist()
    assert first == outputs(post(f"{server.model}/infer", bodies[0])[1])["label"].tolist()


def test_two_workers_serve_and_sum_their_metrics(diagnosis, serve):
    server = serve(diagnosis, "--workers", "2")
    rows, _ = heldout(diagnosis)
    for _ in range(20):
        assert post(f"{server.model}/infer", request_for(rows.head(2)))[0] == 200
    text = get(f"{server.url}/metrics")[1]
    line = next(
        line for line in text.splitlines() if line.startswith('kit_requests_total{endpoint="infer",status="200"}')
    )
    assert float(line.split()[-1]) == 20.0


def test_the_signature_is_recorded_beside_the_model(diagnosis, digits):
    signature = json.loads((diagnosis.path / "artifacts" / "model.signature.json").read_text())
    assert signature["kind"] == "tabular" and len(signature["inputs"]) == 30 and signature["classes"] == [0, 1]
    assert signature["allow_nan"] is False and "model.signature.json" in diagnosis.manifest
    images = json.loads((digits.path / "artifacts" / "model.signature.json").read_text())
    assert images["kind"] == "tensor" and images["inputs"][0]["shape"] == [-1, 8, 8, 1]
