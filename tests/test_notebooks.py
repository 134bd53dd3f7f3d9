"""Committed notebooks are clean: no outputs, no execution counts, a tagged parameters cell, the python3 kernel."""

import json

import pytest

from tests.utils.paths import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_three_notebooks_are_there():
    assert [path.name for path in NOTEBOOKS] == ["predict.ipynb", "train_images.ipynb", "train_tabular.ipynb"]


@pytest.mark.parametrize("path", [pytest.param(path, id=path.stem) for path in NOTEBOOKS])
def test_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code), "clear the outputs"
    assert sum("parameters" in cell["metadata"].get("tags", []) for cell in code) == 1
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert "papermill" not in notebook["metadata"]
