"""Fixtures for the notebook tests (inside the image): training runs with defaults, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

import kit
from tests.utils.paths import NOTEBOOKS


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> Path:
    """One runs directory for the session: training runs are shared, each takes seconds."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def diagnosis(runs):
    return kit.run(NOTEBOOKS / "train_tabular.ipynb", runs_dir=runs)


@pytest.fixture(scope="session")
def regression(runs):
    return kit.run(NOTEBOOKS / "train_tabular.ipynb", {"task": "regression"}, runs_dir=runs)


@pytest.fixture(scope="session")
def digits(runs):
    return kit.run(NOTEBOOKS / "train_images.ipynb", runs_dir=runs)


@pytest.fixture(scope="session")
def digits_predicted(runs, digits):
    return kit.run(NOTEBOOKS / "predict.ipynb", {"model_run": str(digits.path)}, runs_dir=runs)
