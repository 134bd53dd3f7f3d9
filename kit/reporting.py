"""An HTML report of a run: a summary of its record, then the executed notebook with its plots (nbconvert)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from kit import settings
from kit.record import Run


def _summary(run: Run) -> str:
    status = run.status
    lines = [
        f"# Run `{run.id}`",
        f"**{status.get('status')}** · `{status.get('notebook')}` · started {status.get('started')} · "
        f"{status.get('duration_s')} s",
    ]
    failure = status.get("failure")
    if failure:
        lines.append(f"Failed in cell {failure.get('cell_index')}: `{failure.get('ename')}: {failure.get('evalue')}`")
    for title, values in (("Parameters", run.params), ("Metrics", run.metrics)):
        if values:
            lines += [f"## {title}", "| name | value |", "|---|---|"]
            lines += [f"| {name} | `{json.dumps(value)}` |" for name, value in values.items()]
    if run.manifest:
        lines += ["## Artifacts", "| file | bytes | sha256 |", "|---|---|---|"]
        lines += [f"| {name} | {entry['size']} | `{entry['sha256'][:12]}` |" for name, entry in run.manifest.items()]
    return "\n\n".join(lines)


def report(run: Run, output: str | os.PathLike | None = None, *, hide_code: bool = False) -> Path:
    """Write the report (default ``RUN/report.html``) and return its path; ``hide_code`` shows outputs only."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(run.path / settings.NOTEBOOK, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(_summary(run)))
    exporter = HTMLExporter(exclude_input=hide_code, exclude_input_prompt=hide_code, exclude_output_prompt=hide_code)
    html, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": run.id}})
    path = Path(output) if output else run.path / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
