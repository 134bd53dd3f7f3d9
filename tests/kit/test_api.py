"""The Python API notebooks call, inside `kit run` and outside it (JupyterLab)."""

from __future__ import annotations

import json
import operator
import random
import subprocess
import zipfile

import numpy
import pytest

import kit
from kit.errors import KitError
from kit.record import manifest
from tests.utils.notebooks import write_notebook


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Outside `kit run`: no run directory in the environment, runs under tmp_path."""
    monkeypatch.delenv("KIT_RUN_DIR", raising=False)
    monkeypatch.setenv("KIT_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs" / "scratch"


def test_outside_a_run_metrics_are_shown_and_go_to_the_scratch_run(scratch, capsys):
    assert kit.log_metric("accuracy", numpy.float32(0.5)) is None  # a cell ending in it shows the line, not Out[]
    kit.log_metric("epochs", numpy.int64(3))
    assert capsys.readouterr().out == "metric accuracy = 0.5\nmetric epochs = 3\n"
    assert json.loads((scratch / "metrics.json").read_text()) == {"accuracy": 0.5, "epochs": 3}
    assert kit.artifact_path("plots/loss.png") == scratch / "artifacts" / "plots" / "loss.png"
    assert (scratch / "artifacts" / "plots").is_dir()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: kit.log_metric("", 1), "needs a name of 1 to 200 characters", id="empty-metric-name"),
        pytest.param(lambda: kit.log_metric(None, 1), "needs a name", id="metric-name-none"),
        pytest.param(lambda: kit.log_metric("acc", "high"), "must be a number", id="text-metric"),
        pytest.param(lambda: kit.log_metric("acc", True), "must be a number", id="bool-metric"),
        pytest.param(lambda: kit.log_metric("acc", float("nan")), "is nan, not a finite number", id="nan-metric"),
        pytest.param(lambda: kit.log_metric("acc", -float("inf")), "is -inf", id="inf-metric"),
        pytest.param(lambda: kit.log_metric("acc", numpy.float32("nan")), "is nan", id="numpy-nan-metric"),
        pytest.param(lambda: kit.log_metric("acc", 10**5000), "beyond 64 bits", id="huge-int-metric"),
        pytest.param(lambda: kit.log_metric("acc", numpy.zeros(3)), "one number, not an array", id="array-metric"),
        pytest.param(
            lambda: kit.artifact_path("../outside.txt"), "relative path inside the run", id="artifact-escapes"
        ),
        pytest.param(lambda: kit.artifact_path("/etc/passwd"), "relative path inside the run", id="artifact-absolute"),
        pytest.param(lambda: kit.artifact_path("."), "relative path inside the run", id="artifact-dot"),
        pytest.param(lambda: kit.artifact_path("a\0b"), "relative path inside the run", id="artifact-nul"),
        pytest.param(lambda: kit.seed_everything(-1), "integer from 0", id="negative-seed"),
        pytest.param(lambda: kit.seed_everything(1.5), "integer from 0", id="float-seed"),
        pytest.param(lambda: kit.seed_everything(2**40), "integer from 0", id="huge-seed"),
        pytest.param(lambda: kit.load_model("nowhere.skops"), "no model file", id="missing-model"),
    ],
)
def test_api_mistakes_say_what_to_do(scratch, call, message):
    with pytest.raises(KitError, match=message) as raised:
        call()
    assert len(str(raised.value)) < 300
    assert not [path.name for path in scratch.parent.rglob(".*")]  # no temporary file left behind


def test_a_damaged_metrics_file_is_named_not_overwritten(scratch):
    scratch.mkdir(parents=True)
    (scratch / "metrics.json").write_text("{ not json")
    with pytest.raises(KitError, match="is damaged"):
        kit.log_metric("accuracy", 0.5)
    assert (scratch / "metrics.json").read_text() == "{ not json"


def test_seed_everything_repeats_python_and_numpy_randomness(scratch):
    draws = []
    for _ in range(2):
        kit.seed_everything(7, tensorflow=False)
        draws.append((random.random(), numpy.random.rand(3).tolist()))
    assert draws[0] == draws[1]


def test_scikit_learn_models_round_trip_through_skops(scratch):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    path = kit.save_model(model, "classifier")
    assert path.name == "classifier.skops" and zipfile.is_zipfile(path)
    assert kit.load_model(path).predict([[3.0]]).tolist() == [1]


def test_a_skops_file_outside_a_run_needs_its_untrusted_types_named(tmp_path):
    import skops.io
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "model.skops"
    skops.io.dump(make_pipeline(FunctionTransformer(operator.neg)), path)
    untrusted = skops.io.get_untrusted_types(file=path)
    assert untrusted, "the test needs a model with a type skops does not trust by default"
    with pytest.raises(KitError, match="trusted="):
        kit.load_model(path)
    assert kit.load_model(path, trusted=untrusted).transform(numpy.array([[2.0]])).tolist() == [[-2.0]]


def test_a_run_artifact_is_trusted_only_while_it_matches_the_manifest(tmp_path):
    notebook = write_notebook(
        tmp_path / "save.ipynb",
        None,
        "import kit, operator\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import "
        "FunctionTransformer\nkit.save_model(make_pipeline(FunctionTransformer(operator.neg)), 'model')",
    )
    run = kit.run(notebook, runs_dir=tmp_path / "runs")
    path = run.path / "artifacts" / "model.skops"
    assert kit.load_model(path).transform(numpy.array([[2.0]])).tolist() == [[-2.0]]
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("extra.txt", "tampered")
    with pytest.raises(KitError, match="not an unchanged run artifact"):
        kit.load_model(path)


def test_keras_models_get_a_content_hash_that_ignores_the_save_time(scratch):
    """Saved in two processes, seconds apart: different bytes, the same content hash."""
    code = (
        "import sys, keras; keras.utils.set_random_seed(1)\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])\n"
        "import time; time.sleep(1.1); model.save(sys.argv[1])"
    )
    paths = [scratch.parent / f"{name}.keras" for name in "ab"]
    scratch.parent.mkdir(parents=True, exist_ok=True)
    for path in paths:
        subprocess.run(["python", "-c", code, str(path)], check=True, capture_output=True)
    entries = [manifest.describe(path) for path in paths]
    assert entries[0]["sha256"] != entries[1]["sha256"]
    assert entries[0]["content_sha256"] == entries[1]["content_sha256"]
    assert "save time" in entries[0]["content_note"]
    model = kit.load_model(paths[0])
    assert model.output_shape == (None, 3)


def test_skops_content_hash_ignores_memory_addresses(tmp_path):
    code = (
        "import sys, skops.io\nfrom sklearn.linear_model import LogisticRegression\n"
        "skops.io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), sys.argv[1])"
    )
    paths = [tmp_path / f"{name}.skops" for name in "ab"]
    for path in paths:
        subprocess.run(["python", "-c", code, str(path)], check=True, capture_output=True)
    assert zipfile.ZipFile(paths[0]).namelist() != zipfile.ZipFile(paths[1]).namelist()
    assert manifest.content_sha256(paths[0]) == manifest.content_sha256(paths[1])


def test_environment_reads_metadata_without_importing_packages():
    code = "import sys, kit; env = kit.environment(); print('tensorflow' in sys.modules, env['packages']['keras'])"
    out = subprocess.run(["python", "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "False" and out[1][0].isdigit()
