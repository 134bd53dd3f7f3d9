"""Fixtures for kit's tests, which run inside the image (`make test` runs them there): small real notebooks,
real kernels, real run records in a temporary directory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat
import pytest


def write_notebook(path: Path, parameters: str | None, *cells: str) -> Path:
    """A notebook file: an optional cell tagged 'parameters', then code cells."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if parameters is not None:
        notebook.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, path)
    return path


def kit(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """The `kit` command as a shell runs it: a real process, its exit code, stdout and stderr."""
    return subprocess.run(["kit", *map(str, args)], cwd=cwd, capture_output=True, text=True, **kwargs)


def read(path: Path):
    return json.loads(path.read_text())


@pytest.fixture(autouse=True)
def runs_in_cwd(monkeypatch):
    """The image sets KIT_RUNS_DIR=~/work/runs; tests choose their runs directory, by default ./runs."""
    monkeypatch.delenv("KIT_RUNS_DIR", raising=False)
    monkeypatch.delenv("KIT_RUN_DIR", raising=False)


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
