"""Training ranges (issue 20): `kit.save_model(..., training=X_train)` records each input's range in the signature,
and a real `kit serve` counts, in /metrics and by feature, the rows it answers outside them and the rows with
non-finite values; a signature saved without ranges (or by an older kit) is served the same, with nothing counted."""

from __future__ import annotations

import json
import re
import shutil
from types import SimpleNamespace

import numpy
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import kit
from kit.record.hashing import sha256
from tests.utils.commands import kit as kit_command
from tests.utils.http import get, post
from tests.utils.notebooks import write_notebook

from .test_api import request_for

FIT = (
    "import kit, numpy as np, pandas as pd\nfrom sklearn.datasets import load_breast_cancer\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.ensemble import HistGradientBoostingClassifier\n"
    "X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
)
OUT_OF_RANGE = "kit_inputs_out_of_range_total"
NONFINITE = "kit_inputs_nonfinite_total"
SAMPLE = re.compile(r"^(\w+)\{(.*)\} (\S+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')


def breast_cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).data


def constant(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{"mean radius": 5.0})


def with_nan(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[::3, "mean radius"] = numpy.nan  # a third of the rows: the range is of the others
    frame.loc[1::2, "worst area"] = numpy.nan
    return frame


def expected(frame: pd.DataFrame) -> dict[str, list[float]]:
    finite = frame.where(numpy.isfinite(frame))
    return {str(name): [float(finite[name].min()), float(finite[name].max())] for name in frame.columns}


def named(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_axis([f"x{index}" for index in range(frame.shape[1])], axis=1)


RECORDED = [
    pytest.param("LogisticRegression(max_iter=50).fit(X, y)", "X[X.columns[::-1]]", breast_cancer, id="dataframe"),
    pytest.param(
        "LogisticRegression(max_iter=50).fit(X.to_numpy(), y)",
        "X.to_numpy()",
        lambda: named(breast_cancer()),
        id="numpy-array",
    ),  # fmt: skip
    pytest.param(
        "LogisticRegression(max_iter=50).fit(X.assign(**{'mean radius': 5.0}), y)",
        "X.assign(**{'mean radius': 5.0})",
        lambda: constant(breast_cancer()),
        id="constant-feature",
    ),
    pytest.param(
        "HistGradientBoostingClassifier(max_iter=5).fit(X_nan, y)",
        "X_nan",
        lambda: with_nan(breast_cancer()),
        id="nan-in-training",
    ),
]
NAN_SETUP = "X_nan = X.copy()\nX_nan.loc[::3, 'mean radius'] = np.nan\nX_nan.loc[1::2, 'worst area'] = np.nan\n"


def fitted_run(tmp_path, model: str, training: str):
    notebook = write_notebook(tmp_path / "fit.ipynb", None, FIT + NAN_SETUP + f"model = {model}\n"
                              f"kit.save_model(model, training={training})")  # fmt: skip
    return kit.run(notebook, runs_dir=tmp_path / "runs")


def recorded_ranges(run) -> dict[str, list[float]]:
    signature = json.loads((run.path / "artifacts" / "model.signature.json").read_text())
    return {item["input"]: [item["min"], item["max"]] for item in signature["ranges"]}


@pytest.mark.parametrize(("model", "training", "frame"), RECORDED)
def test_save_model_records_each_features_training_range(tmp_path, model, training, frame):
    run = fitted_run(tmp_path, model, training)
    want = expected(frame())
    ranges = recorded_ranges(run)
    assert ranges == want and list(ranges) == list(want)


def test_a_tensor_models_range_is_its_whole_inputs(digits):
    """The digits notebook passes training=x_train: pixels scaled to 0..1, one range for the whole image."""
    assert recorded_ranges(digits) == {"input": [0.0, 1.0]}


@pytest.mark.parametrize(
    ("training", "message"),
    [
        pytest.param(
            "X.drop(columns=['mean radius'])", "lacks the model's feature 'mean radius'", id="missing-feature"
        ),  # fmt: skip
        pytest.param("X.to_numpy()[:, :3]", "has shape (569, 3): pass the rows of the 30 features", id="wrong-shape"),
        pytest.param("X[:0]", "has shape (0, 30)", id="no-rows"),
        pytest.param("X.astype(str).assign(**{'mean radius': 'big'})", "is not numbers", id="not-numbers"),
    ],
)
def test_save_model_refuses_training_data_it_cannot_read_and_saves_nothing(tmp_path, training, message):
    notebook = write_notebook(tmp_path / "fit.ipynb", None, FIT + "model = LogisticRegression(max_iter=50).fit(X, y)\n"
                              f"kit.save_model(model, training={training})")  # fmt: skip
    result = kit_command("run", notebook, "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert result.returncode == 1 and f"the training data {message}" in result.stderr, result.stderr
    assert not list((tmp_path / "runs").glob("*/artifacts/model.*"))


def samples(server, metric: str) -> dict[str, float]:
    """The metric's value by feature, from the server's /metrics."""
    status, text = get(f"{server.url}/metrics")
    assert status == 200
    found = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        labels = dict(LABEL.findall(match[2])) if match and match[1] == metric else {}
        if labels.get("model") == server.name:
            found[labels["feature"]] = float(match[3])
    return found


def increase(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after if after[name] != before.get(name, 0.0)}


def inside(run) -> pd.DataFrame:
    """Two rows every feature of which is inside its training range: the middle of each range, and its minimum."""
    ranges = recorded_ranges(run)
    return pd.DataFrame({name: [(low + high) / 2, low] for name, (low, high) in ranges.items()})


def test_kit_serve_counts_rows_outside_the_training_range_by_feature_and_still_answers(serve, diagnosis):
    server = serve(diagnosis)
    ranges = recorded_ranges(diagnosis)
    assert len(ranges) == 30
    rows = inside(diagnosis)
    before = samples(server, OUT_OF_RANGE)
    assert set(before) == set(ranges)  # every feature's counter, at 0 from the start
    assert post(f"{server.model}/infer", request_for(rows))[0] == 200
    assert increase(before, samples(server, OUT_OF_RANGE)) == {}
    far = rows.copy()
    low, high = ranges["mean radius"]
    far["mean radius"] = [high + 10 * (high - low), high]  # the first row only: the maximum is inside
    far["worst texture"] = ranges["worst texture"][0] - 1  # both rows
    status, answer = post(f"{server.model}/infer", request_for(far))
    assert status == 200 and len(answer["outputs"][0]["data"]) == 2  # predicted all the same
    assert increase(before, samples(server, OUT_OF_RANGE)) == {"mean radius": 1.0, "worst texture": 2.0}


@pytest.mark.parametrize(
    ("body", "counted"),
    [
        pytest.param(
            lambda rows: request_for(rows.assign(**{"mean area": [numpy.nan, 1.0]})),
            {"mean area": 1.0},
            id="nan-by-feature",
        ),  # fmt: skip
        pytest.param(
            lambda rows: request_for(rows.assign(**{"mean area": numpy.nan, "worst area": [1.0, numpy.inf]})),
            {"mean area": 2.0, "worst area": 1.0},
            id="nan-and-infinity-in-two-features",
        ),
        pytest.param(
            lambda rows: {
                "inputs": [
                    {
                        "name": "x",
                        "datatype": "FP64",
                        "shape": list(rows.shape),
                        "data": rows.assign(**{"mean area": numpy.nan, "worst area": [0, numpy.nan]})
                        .to_numpy()
                        .tolist(),
                    }
                ]
            },
            {"mean area": 2.0, "worst area": 1.0},
            id="nan-in-a-matrix",
        ),  # fmt: skip
    ],
)
def test_kit_serve_counts_the_rows_it_refuses_for_nan_by_feature(serve, diagnosis, body, counted):
    server = serve(diagnosis)
    before = samples(server, NONFINITE)
    request = json.dumps(body(inside(diagnosis))).encode()  # NaN as JSON's extension, which clients send
    status, answer = post(f"{server.model}/infer", request)
    assert status == 422 and "NaN or an infinity" in answer["error"]
    assert increase(before, samples(server, NONFINITE)) == counted


def test_kit_serve_counts_a_tensor_model_by_rows_with_a_value_outside(serve, digits):
    server = serve(digits)
    before = samples(server, OUT_OF_RANGE)
    images = numpy.full((3, 8, 8, 1), 0.5, dtype=numpy.float32)
    assert post(f"{server.model}/infer", request_for(images))[0] == 200
    assert increase(before, samples(server, OUT_OF_RANGE)) == {}
    images[0, 3, 3, 0], images[2, 0, 0, 0], images[2, 7, 7, 0] = 2.0, -1.0, 3.0
    assert post(f"{server.model}/infer", request_for(images))[0] == 200
    assert increase(before, samples(server, OUT_OF_RANGE)) == {"input": 2.0}


def test_a_model_that_takes_nan_answers_it_and_counts_it(serve, tmp_path):
    run = fitted_run(tmp_path, "HistGradientBoostingClassifier(max_iter=5).fit(X_nan, y)", "X_nan")
    server = serve(run)
    rows = inside(run)
    rows.loc[0, "mean texture"] = numpy.nan
    before_nan, before_out = samples(server, NONFINITE), samples(server, OUT_OF_RANGE)
    status, _ = post(f"{server.model}/infer", json.dumps(request_for(rows)).encode())
    assert status == 200
    assert increase(before_nan, samples(server, NONFINITE)) == {"mean texture": 1.0}
    assert increase(before_out, samples(server, OUT_OF_RANGE)) == {}


def test_a_signature_without_ranges_is_served_with_nothing_counted(serve, diagnosis, tmp_path):
    """A run saved by a kit before ranges (or without training data): its signature has no "ranges"."""
    old = shutil.copytree(diagnosis.path, tmp_path / "old")
    path = old / "artifacts" / "model.signature.json"
    signature = json.loads(path.read_text())
    del signature["ranges"]
    path.write_text(json.dumps(signature))
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["model.signature.json"].update(sha256=sha256(path), size=path.stat().st_size)
    (old / "manifest.json").write_text(json.dumps(manifest))
    server = serve(SimpleNamespace(path=old))
    rows = inside(diagnosis).assign(**{"mean radius": 1e6})
    status, answer = post(f"{server.model}/infer", request_for(rows))
    assert status == 200 and len(answer["outputs"][0]["data"]) == 2
    assert samples(server, OUT_OF_RANGE) == {}
    metadata = get(server.model)[1]
    assert [item["name"] for item in metadata["inputs"]] == list(rows.columns)
