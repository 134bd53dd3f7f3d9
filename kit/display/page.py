"""Writing a report page: its place checked before the work of making it, its markup from a template, written whole.

Markup lives in Jinja2 templates (``kit/display/templates/``) with autoescaping on, as nbconvert keeps its own: a
value from a record (a parameter, a metric's name, a failure's message) can hold anything and is escaped where it
is shown.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from kit.errors import ReportError
from kit.record.jsonfile import write_text
from kit.shorten import short

#: kit's templates, and nbconvert's page extended with a run's summary (``kit report RUN``).
TEMPLATES = Path(__file__).with_name("templates")
NBCONVERT_TEMPLATES = TEMPLATES / "nbconvert"
NBCONVERT_TEMPLATE = "kit-report"


def check(path: Path) -> Path:
    """``path`` if a page can be written there: not a folder, in a folder that exists and is writable (ReportError)."""
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
    return path


@cache
def _templates():
    import jinja2

    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    templates.filters["short"] = short  # a value as one short line: the table cells' text
    return templates


def render(template: str, **context: Any) -> str:
    """The page of ``template`` (a file of kit/display/templates/) with ``context``, every value escaped."""
    return _templates().get_template(template).render(**context)


def write(path: Path, page: str) -> Path:
    """Write the page whole (readers see the old file or the new one); ReportError when it cannot be."""
    try:
        write_text(path, page)
    except OSError as error:
        raise ReportError(path, error.strerror or type(error).__name__) from None
    return path
