"""A run record on disk: its files, written atomically, read back as a :class:`Run`, listed, found by id."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit import settings
from kit.errors import KitError


def write_json(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of it."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    with open(temporary, "x") as file:
        json.dump(data, file, indent=2, default=str)
        file.write("\n")
    os.replace(temporary, path)


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


@dataclass(frozen=True)
class Run:
    """A finished run record (succeeded, failed or interrupted), read from its directory."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    def read(self, name: str, default: Any = None) -> Any:
        return read_json(self.path / name, default)

    @property
    def status(self) -> dict:
        return self.read(settings.STATUS, {})

    @property
    def params(self) -> dict:
        return self.read(settings.PARAMS, {})

    @property
    def metrics(self) -> dict:
        return self.read(settings.METRICS, {})

    @property
    def manifest(self) -> dict:
        return self.read(settings.MANIFEST, {})

    @property
    def environment(self) -> dict:
        return self.read(settings.ENVIRONMENT, {})

    @property
    def succeeded(self) -> bool:
        return self.status.get("status") == "succeeded"


def is_run(path: Path) -> bool:
    return (path / settings.STATUS).is_file() and not path.name.startswith(settings.PARTIAL_PREFIX)


def find(run: str | os.PathLike, runs_dir: str | os.PathLike | None = None) -> Run:
    """A run by its directory or by its id in the runs directory."""
    runs = settings.runs_dir(runs_dir)
    for candidate in (Path(run), runs / str(run)):
        if is_run(candidate):
            return Run(candidate)
    raise KitError(f"no run {str(run)!r} in {runs}: `kit runs --runs-dir DIR` lists the runs, or pass a run directory")


def all_runs(runs_dir: str | os.PathLike | None = None) -> list[Run]:
    """Every finished run in the runs directory, oldest first."""
    runs = settings.runs_dir(runs_dir)
    if not runs.is_dir():
        return []
    found = [Run(path) for path in runs.iterdir() if is_run(path)]
    return sorted(found, key=lambda run: (run.status.get("started", ""), run.id))
