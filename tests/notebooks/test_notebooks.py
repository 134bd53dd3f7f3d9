"""The notebooks: targets reached with defaults, other parameters, predictions, mistakes, papermill and nbval."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy
import pandas as pd
import pytest

import kit
from kit.record.layout import KERNEL_LOG
from tests.utils.outputs import stderr_outputs
from tests.utils.paths import NOTEBOOKS


def test_defaults_reach_their_targets(diagnosis, regression, digits):
    assert diagnosis.metrics["accuracy"] >= 0.95 and diagnosis.metrics["roc_auc"] >= 0.95
    assert regression.metrics["r2"] >= 0.40
    assert digits.metrics["accuracy"] >= 0.95 and digits.metrics["loss"] < 0.5
    assert set(diagnosis.manifest) == {
        "model.skops",
        "model.signature.json",
        "model.lineage.json",
        "model.reference.npz",
        "heldout.csv",
    }
    assert set(digits.manifest) == {
        "model.keras",
        "model.signature.json",
        "model.lineage.json",
        "model.reference.npz",
        "heldout.npy",
        "heldout_labels.npy",
    }


@pytest.mark.parametrize("run", ["diagnosis", "regression", "digits", "digits_predicted"])
def test_the_shipped_notebooks_write_nothing_to_stderr(request, run):
    """A notebook run in the image shows no red block under any cell and leaves its kernel's log empty (the README
    promises TensorFlow is quiet). The digits CNN trains on all 1,437 images, a partial last batch, with op
    determinism on: fed NumPy arrays, Keras made TensorFlow 2.21 log `E0000 ... use_unbounded_threadpool` three
    times, which `kit run` shows under the cells and this session's runs leave in kernel.log only."""
    path = request.getfixturevalue(run).path
    assert stderr_outputs(json.loads((path / "notebook.ipynb").read_text())) == []
    assert (path / KERNEL_LOG).read_text() == ""


def test_a_run_records_the_projects_git_commit(diagnosis):
    git = diagnosis.environment["git"]
    if (NOTEBOOKS.parent / ".git").exists():
        assert len(git["commit"]) == 40 and isinstance(git["dirty"], bool)
    else:
        assert git["commit"] is None and git["note"]


@pytest.mark.parametrize("training", ["diagnosis", "digits"])
def test_the_same_parameters_give_the_same_metrics_and_model(request, training):
    """kit verify runs it again, with the recorded parameters, and compares metrics and model content."""
    result = kit.verify(request.getfixturevalue(training).path)
    assert result.reproduced, result.changes
    assert result.a.metrics == result.b.metrics


@pytest.mark.parametrize(
    ("notebook", "parameters", "metric", "floor"),
    [
        ("train_tabular", {"seed": 7}, "accuracy", 0.93),
        ("train_tabular", {"model": "forest", "test_size": 0.3}, "accuracy", 0.93),
        ("train_tabular", {"task": "regression", "model": "ridge"}, "r2", 0.40),
        ("train_images", {"epochs": 2, "seed": 1, "batch_size": 64}, "accuracy", 0.5),
    ],
    ids=["another-seed", "forest", "ridge-regression", "two-epochs"],
)
def test_other_parameters(runs, notebook, parameters, metric, floor):
    run = kit.run(NOTEBOOKS / f"{notebook}.ipynb", parameters, runs_dir=runs)
    assert run.metrics[metric] >= floor
    assert {name: run.params[name] for name in parameters} == parameters


@pytest.mark.parametrize("training", ["diagnosis", "regression", "digits"])
def test_predict_reproduces_the_training_metrics(request, runs, training):
    trained = request.getfixturevalue(training)
    predicted = kit.run(NOTEBOOKS / "predict.ipynb", {"model_run": str(trained.path)}, runs_dir=runs)
    assert predicted.metrics == trained.metrics
    predictions = pd.read_csv(predicted.path / "artifacts" / "predictions.csv")
    heldout = trained.path / "artifacts" / ("heldout.npy" if training == "digits" else "heldout.csv")
    assert len(predictions) == (len(numpy.load(heldout)) if heldout.suffix == ".npy" else len(pd.read_csv(heldout)))


def test_a_users_csv_trains_and_predicts_without_labels(runs, tmp_path):
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "benign"})
    frame.to_csv(tmp_path / "patients.csv", index=False)
    trained = kit.run(
        NOTEBOOKS / "train_tabular.ipynb",
        {"data_path": str(tmp_path / "patients.csv"), "target_column": "benign"},
        runs_dir=runs,
    )
    assert trained.metrics["accuracy"] >= 0.95
    frame.drop(columns="benign").head(10).to_csv(tmp_path / "new.csv", index=False)
    predicted = kit.run(
        NOTEBOOKS / "predict.ipynb",
        {"model_run": str(trained.path), "input_path": str(tmp_path / "new.csv")},
        runs_dir=runs,
    )
    assert predicted.metrics == {}
    assert len(pd.read_csv(predicted.path / "artifacts" / "predictions.csv")) == 10


MISTAKES = [
    ("train_tabular", ["-p", "epochs", "3"], 2, "unknown parameter 'epochs'"),
    ("train_images", ["-p", "epochs", "two"], 2, "'epochs' expects int"),
    ("train_tabular", ["-p", "task", "clustering"], 1, "task must be diagnosis or regression, not 'clustering'"),
    ("train_tabular", ["-p", "model", "forest", "-p", "task", "regression"], 1, "model for regression must be"),
    ("train_tabular", ["-p", "data_path", "missing.csv"], 1, "data_path 'missing.csv' does not exist"),
    ("train_tabular", ["-p", "data_path", "{csv}", "-p", "target_column", "label"], 1, "has no column 'label'"),
    ("train_images", ["-p", "learning_rate", "5"], 1, "learning_rate must be between 0 and 1"),
    ("predict", ["-p", "model_run", "no-such-run"], 1, "no run 'no-such-run'"),
    ("predict", ["-p", "input_path", "data.txt"], 1, "input_path must be a .csv or .npy file"),
]


@pytest.mark.parametrize(
    ("notebook", "args", "code", "message"),
    MISTAKES,
    ids=[
        "unknown-name",
        "wrong-type",
        "bad-task",
        "model-of-other-task",
        "missing-data",
        "no-target-column",
        "learning-rate",
        "unknown-run",
        "input-format",
    ],
)
def test_a_wrong_parameter_ends_with_one_clear_line(tmp_path, notebook, args, code, message):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n3,4\n")
    args = [arg.replace("{csv}", str(tmp_path / "data.csv")) for arg in args]
    result = subprocess.run(
        ["kit", "run", str(NOTEBOOKS / f"{notebook}.ipynb"), *args, "--runs-dir", "runs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == code, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: ") and message in error
    if code == 1:  # the notebook checked it in one of its first cells, before any work
        run = kit.find_run(tmp_path / result.stdout.strip().splitlines()[-1])
        assert run.info.failure.cell_index <= 4


def test_bare_papermill_runs_them_as_they_are(tmp_path):
    """From the project folder, as CI runs them; predict.ipynb, given no run, trains train_tabular.ipynb first."""
    env = {**os.environ, "KIT_RUNS_DIR": str(tmp_path / "runs")}
    for notebook, parameters in (("train_tabular", ["-p", "task", "regression"]), ("predict", [])):
        command = [
            "papermill",
            "--no-progress-bar",
            str(NOTEBOOKS / f"{notebook}.ipynb"),
            str(tmp_path / f"executed-{notebook}.ipynb"),
            *parameters,
        ]
        result = subprocess.run(command, cwd=NOTEBOOKS.parent, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]
    assert "metric r2 = " in (tmp_path / "executed-train_tabular.ipynb").read_text()
    assert "metric accuracy = " in (tmp_path / "executed-predict.ipynb").read_text()


def test_nbval_runs_every_notebook_top_to_bottom(tmp_path):
    """`pytest --nbval-lax notebooks/`; predict.ipynb finds no training run there and trains one first."""
    env = {**os.environ, "KIT_RUNS_DIR": str(tmp_path / "runs")}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "-q", str(NOTEBOOKS)]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(list((tmp_path / "runs").iterdir())) == 2  # the scratch run and predict's training run
