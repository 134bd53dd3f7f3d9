"""Bit-for-bit reproduction: the same metrics and artifact contents, also on fewer CPUs."""

from __future__ import annotations

import subprocess

import pytest

import kit
from kit.record.comparison import identity
from tests.utils.commands import kit as kit_command
from tests.utils.notebooks import write_notebook

TRAIN = """\
import kit
kit.seed_everything(seed)
import keras
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
X, y = load_digits(return_X_y=True)
images = X.reshape(-1, 8, 8, 1) / 16
model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                          keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy")
history = model.fit(images, y, epochs=epochs, batch_size=64, verbose=0)
kit.log_metric("loss", history.history["loss"][-1])
kit.save_model(model, "cnn")
kit.save_model(LogisticRegression(max_iter=300).fit(X, y), "linear")
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One training run (TensorFlow and scikit-learn), shared: it takes seconds."""
    folder = tmp_path_factory.mktemp("reproduce")
    notebook = write_notebook(folder / "train.ipynb", "seed = 0\nepochs = 2", TRAIN)
    return folder, notebook, kit.run(notebook, runs_dir=folder / "runs")


def test_two_runs_give_identical_metrics_and_artifacts(trained):
    folder, notebook, first = trained
    second = kit.run(notebook, runs_dir=folder / "runs")
    assert first.metrics == second.metrics
    assert {name: identity(entry) for name, entry in first.manifest.items()} == {
        name: identity(entry) for name, entry in second.manifest.items()
    }
    assert all("content_sha256" in first.manifest[name] for name in ("cnn.keras", "linear.skops"))
    assert kit.compare(first, second).reproduced


def test_verify_on_one_cpu_reproduces_a_run_made_on_all(trained):
    folder, _, first = trained
    assert first.environment["threads"]["intra_op"] >= 2, "the test needs a machine with two CPUs or more"
    result = subprocess.run(
        ["taskset", "-c", "0", "kit", "verify", str(first.path)], cwd=folder, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "metrics: same" in result.stdout and "artifacts: same" in result.stdout
    assert "cpu.usable" in result.stdout  # the environment did differ
    replay = kit.find_run(result.stdout.strip().splitlines()[-1].removeprefix("reproduced: "))
    assert replay.environment["cpu"]["usable"] == 1 and replay.environment["threads"] == {
        **first.environment["threads"],
        "source": "record",
    }
    assert replay.info.invocation.verifies == first.id


def test_verify_reports_a_run_that_does_not_reproduce_with_exit_3(tmp_path):
    notebook = write_notebook(
        tmp_path / "unseeded.ipynb",
        None,
        "import os, kit\nkit.log_metric('draw', "
        "int.from_bytes(os.urandom(4)))\nkit.artifact_path('a.bin').write_bytes(os.urandom(8))",
    )
    run = kit.run(notebook, runs_dir=tmp_path / "runs")
    result = kit_command("verify", run.id, cwd=tmp_path)
    assert result.returncode == 3
    assert "metrics: 1 differ" in result.stdout and "  draw: " in result.stdout and "  a.bin: " in result.stdout
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: run {run.id} did not reproduce: first difference at cell ")
    assert error.endswith("; see the differences above") and len(error) < 300


def test_verify_refuses_a_failed_run(tmp_path):
    notebook = write_notebook(tmp_path / "fail.ipynb", None, "1/0")
    failed = kit_command("run", notebook, cwd=tmp_path).stdout.strip()
    result = kit_command("verify", failed, cwd=tmp_path)
    assert result.returncode == 2 and "only a succeeded run can be verified" in result.stderr
