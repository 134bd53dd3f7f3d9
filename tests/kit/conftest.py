"""Fixtures for kit's tests, which run inside the image (`make test` runs them there): small real notebooks."""

from __future__ import annotations

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
