"""An HTML report of a run: the summary of its record, then the executed notebook with its plots (nbconvert)."""

from __future__ import annotations

import html
import os
from pathlib import Path

from kit.display.summary import RunSummary, summarize
from kit.display.text import short
from kit.errors import ReportError
from kit.record import Run
from kit.record.jsonfile import write_text

#: The report's default name, in the run's folder (derived from the record, not part of it).
DEFAULT_NAME = "report.html"


def _code(value) -> str:
    """A value for a Markdown table cell: escaped HTML (parameters can hold anything), no pipe to split the cell."""
    return f"<code>{html.escape(short(value)).replace('|', '&#124;')}</code>"


def markdown(summary: RunSummary) -> str:
    lines = [
        f"# Run {_code(summary.id)}",
        f"**{summary.status}** · {_code(summary.notebook)} · started {summary.started} · {summary.duration_s} s",
    ]
    if summary.failure:
        lines.append(f"Failed: {_code(summary.failure.describe())}")
    lines += [f"Record problem: {_code(problem)}" for problem in summary.record_problems]
    lines.append(f"Threads: {summary.threads}; {summary.seeding}; git {_code(summary.git)}")
    if summary.resources:
        used = summary.resources
        lines.append(f"Resources: {used.cpu_s:.1f} CPU seconds, peak memory {used.peak_mb:.0f} MB")
    for title, values in (("Parameters", summary.params), ("Metrics", summary.metrics)):
        if values:
            lines += [f"## {title}", "| name | value |", "|---|---|"]
            lines += [f"| {_code(name)} | {_code(value)} |" for name, value in values.items()]
    if summary.artifacts:
        lines += ["## Artifacts", "| file | bytes | sha256 |", "|---|---|---|"]
        lines += [f"| {_code(a.name)} | {a.size} | <code>{a.sha256[:12]}</code> |" for a in summary.artifacts]
    return "\n\n".join(lines)


def report(run: Run, output: str | os.PathLike | None = None, *, hide_code: bool = False) -> Path:
    """Write the report (default ``RUN/report.html``) and return its path; ``hide_code`` shows outputs only."""
    import nbformat
    from nbconvert import HTMLExporter

    path = Path(output) if output else run.path / DEFAULT_NAME
    _check_output(path)  # before the seconds nbconvert takes
    summary = summarize(run)
    notebook = nbformat.from_dict(run.notebook)  # a copy: the run's cached notebook stays as read
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(markdown(summary)))
    exporter = HTMLExporter(exclude_input=hide_code, exclude_input_prompt=hide_code, exclude_output_prompt=hide_code)
    page, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": run.id}})
    try:
        write_text(path, page)
    except OSError as error:
        raise ReportError(path, error.strerror or type(error).__name__) from None
    return path


def _check_output(path: Path) -> None:
    folder = path.parent
    try:
        if path.is_dir():
            raise ReportError(path, "it is a directory")
        if not folder.is_dir():
            raise ReportError(path, f"no folder {folder}")
    except (OSError, ValueError) as error:  # a name too long, a NUL byte
        raise ReportError(path, str(getattr(error, "strerror", None) or error)) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReportError(path, f"{folder} is not writable")
