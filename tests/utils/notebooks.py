"""Small real notebooks, written as JupyterLab would write them."""

from __future__ import annotations

from pathlib import Path

import nbformat


def notebook_text(parameters: str | None, *cells: str, kernel: str | None = "python3") -> str:
    """A notebook's JSON: an optional cell tagged 'parameters', then code cells; ``kernel=None`` names no kernel."""
    notebook = nbformat.v4.new_notebook()
    if kernel:
        notebook.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    if parameters is not None:
        notebook.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    return nbformat.writes(notebook)


def write_notebook(path: Path, parameters: str | None, *cells: str, kernel: str | None = "python3") -> Path:
    """The notebook of :func:`notebook_text` written to ``path``."""
    path.write_text(notebook_text(parameters, *cells, kernel=kernel))
    return path
