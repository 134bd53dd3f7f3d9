"""The ``kit`` command as a shell runs it, and reading what it wrote."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


def kit(*args: str | bytes | Path, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """A real ``kit`` process: its exit code, stdout and stderr (``args`` may be bytes, as argv can be)."""
    command = ["kit", *(arg if isinstance(arg, bytes) else str(arg) for arg in args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, errors="replace", **kwargs)


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def read(path: Path) -> Any:
    return json.loads(path.read_text())
