"""Fixtures for kit's tests, which run inside the image (`make test` runs them there): small real notebooks,
real kernels, real run records in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils.notebooks import write_notebook


@pytest.fixture(autouse=True)
def runs_in_cwd(monkeypatch):
    """The image sets KIT_RUNS_DIR=~/work/runs; tests choose their runs directory, by default ./runs."""
    monkeypatch.delenv("KIT_RUNS_DIR", raising=False)
    monkeypatch.delenv("KIT_RUN_DIR", raising=False)
    monkeypatch.delenv("KIT_THREADS", raising=False)


@pytest.fixture
def typed_notebook(tmp_path) -> Path:
    """A notebook whose parameters have every kind of type: annotated, inferred from the default, unknown."""
    parameters = (
        "epochs: int = 10  # passes over the data\n"
        "learning_rate = 0.01\n"
        "task = 'diagnosis'\n"
        "shuffle = True\n"
        "layers = [16, 8]\n"
        "data_path = None\n"
    )
    return write_notebook(tmp_path / "typed.ipynb", parameters, "print(epochs)")


@pytest.fixture
def scoring_notebook(tmp_path) -> Path:
    """A quick notebook that uses the whole API but TensorFlow: seeds, logs a metric, saves an artifact."""
    return write_notebook(
        tmp_path / "score.ipynb",
        "seed = 0\nscale: float = 1.0",
        "import os, random, kit\nkit.seed_everything(seed, tensorflow=False)",
        "kit.log_metric('score', random.random() * scale)\n"
        "kit.artifact_path('env/threads.txt').write_text(os.environ['OMP_NUM_THREADS'])\n"
        "kit.artifact_path('hash.txt').write_text(str(hash('kit')))",
    )
