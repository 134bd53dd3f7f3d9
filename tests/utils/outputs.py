"""What an executed notebook's cells wrote, read from its JSON (no nbformat: the host's test tools lack it)."""

from __future__ import annotations


def stderr_outputs(notebook: dict) -> list[tuple[int, str]]:
    """(cell index, text) of every stream output on stderr: a quiet notebook has none."""
    return [
        (index, "".join(output.get("text", "")))
        for index, cell in enumerate(notebook["cells"])
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stderr"
    ]
