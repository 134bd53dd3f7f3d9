"""Notebook cells as nbformat writes them, for tests on the host (which has no nbformat)."""

from __future__ import annotations


def cell(source: str, *tags: str) -> dict:
    """A code cell as nbformat writes it."""
    return {"cell_type": "code", "execution_count": None, "metadata": {"tags": list(tags)}, "outputs": [],
            "source": source}  # fmt: skip
