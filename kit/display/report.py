"""An HTML report of a run: the summary of its record, then the executed notebook with its plots (nbconvert).

The summary is kit's template (``templates/run_summary.html.j2``, autoescaped); the page is nbconvert's JupyterLab
page, extended by ``templates/nbconvert/kit-report`` to put the summary first.
"""

from __future__ import annotations

import os
from pathlib import Path

from kit.display import page
from kit.display.summary import summarize
from kit.record import Run

#: The report's default name, in the run's folder (derived from the record, not part of it).
DEFAULT_NAME = "report.html"


def report(run: Run, output: str | os.PathLike | None = None, *, hide_code: bool = False) -> Path:
    """Write the report (default ``RUN/report.html``) and return its path; ``hide_code`` shows outputs only."""
    import nbformat
    from nbconvert import HTMLExporter

    path = page.check(Path(output) if output else run.path / DEFAULT_NAME)  # before the seconds nbconvert takes
    summary = page.render("run_summary.html.j2", summary=summarize(run))
    exporter = HTMLExporter(
        template_name=page.NBCONVERT_TEMPLATE,
        extra_template_basedirs=[str(page.NBCONVERT_TEMPLATES)],
        exclude_input=hide_code,
        exclude_input_prompt=hide_code,
        exclude_output_prompt=hide_code,
    )
    notebook = nbformat.from_dict(run.notebook)  # a copy: the run's cached notebook stays as read
    html, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": run.id}, "kit_summary": summary})
    return page.write(path, html)
