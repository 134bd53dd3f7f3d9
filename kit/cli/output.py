"""What commands print on stdout besides tables: paths, the last line, as the user will use them."""

from __future__ import annotations

import os
from pathlib import Path

import click


def echo_path(path: str | os.PathLike) -> None:
    """Print ``path`` relative to the current directory when inside it, else as it is.

    ``runs/ID`` is what a project mounted into the image shows on the host too, where the container's absolute path
    (``/home/jovyan/work/runs/ID``) means nothing.
    """
    path = Path(path)
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve())
    except (OSError, ValueError):  # elsewhere, or the working directory is gone
        shown = path
    click.echo(shown)
