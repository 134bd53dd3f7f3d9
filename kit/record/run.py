"""A finished run record, read back: :class:`Run`, found by id or path, listed.

Each file is read once, when first needed, and checked for its shape; a missing, unreadable or damaged file
becomes one :class:`kit.errors.DamagedRecord` naming it. Nothing here writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from kit import settings
from kit.errors import AmbiguousRef, DamagedRecord, RunNotFound, RunsDirError
from kit.record import layout, schema
from kit.record.hashing import sha256
from kit.record.inputs import Input, read_inputs
from kit.record.jsonfile import read_json
from kit.record.layout import RunLayout


def _problem(error: OSError | ValueError) -> str:
    if isinstance(error, FileNotFoundError):
        return "is missing"
    if isinstance(error, OSError):
        return f"cannot be read ({error.strerror or type(error).__name__})"
    return str(error)


def _read(root: Path, name: str, check: Callable[[Any], Any]) -> Any:
    try:
        return check(read_json(root / name))
    except (OSError, ValueError) as error:
        raise DamagedRecord(root, name, _problem(error)) from None


def _upgraded(status: dict, root: Path) -> dict:
    """status.json of kit 0.1.0 kept threads and the hash seed in environment.json only: read them there."""
    invocation = status.get("invocation") if isinstance(status, dict) else None
    if not isinstance(invocation, dict) or "threads" in invocation:
        return status
    environment = _read(root, layout.ENVIRONMENT, schema.check_environment)
    threads, hash_seed = environment.get("threads"), environment.get("hash_seed")
    return {**status, "invocation": {**invocation, "threads": threads, "hash_seed": hash_seed}}


@dataclass(frozen=True, eq=False)
class Run:
    """A finished run (succeeded, failed or interrupted): ``info`` is its status.json, the rest is read on use."""

    path: Path
    info: schema.RunInfo

    @classmethod
    def open(cls, path: str | os.PathLike) -> Run:
        """The run in directory ``path``; DamagedRecord when its status.json is missing or damaged."""
        root = Path(path)
        status = _read(root, layout.STATUS, lambda data: data)
        try:
            info = schema.RunInfo.from_dict(_upgraded(status, root))
        except ValueError as error:
            raise DamagedRecord(root, layout.STATUS, str(error)) from None
        return cls(root, info)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def layout(self) -> RunLayout:
        return RunLayout(self.path)

    @property
    def status(self) -> schema.RunStatus:
        return self.info.status

    @property
    def succeeded(self) -> bool:
        return self.info.status is schema.RunStatus.SUCCEEDED

    @cached_property
    def params(self) -> dict[str, Any]:
        return _read(self.path, layout.PARAMS, schema.check_params)

    @cached_property
    def metrics(self) -> dict[str, float | int]:
        return _read(self.path, layout.METRICS, schema.check_metrics)

    @cached_property
    def manifest(self) -> dict[str, dict]:
        return _read(self.path, layout.MANIFEST, schema.check_manifest)

    @cached_property
    def inputs(self) -> tuple[Input, ...]:
        """The files the run read and the inputs it declared (none for runs recorded before kit recorded inputs)."""
        try:
            return read_inputs(self.path)
        except (OSError, ValueError) as error:
            raise DamagedRecord(self.path, layout.INPUTS, _problem(error)) from None

    @cached_property
    def environment(self) -> dict[str, Any]:
        return _read(self.path, layout.ENVIRONMENT, schema.check_environment)

    @cached_property
    def notebook(self):
        """The executed notebook, as an nbformat node."""
        import nbformat

        try:
            node = nbformat.reads(self.layout.notebook.read_text(encoding="utf-8"), as_version=4)
            nbformat.validate(node)
        except OSError as error:
            raise DamagedRecord(self.path, layout.NOTEBOOK, _problem(error)) from None
        except Exception:  # nbformat raises many types for a file that is not a notebook
            raise DamagedRecord(self.path, layout.NOTEBOOK, "is not a valid notebook") from None
        return node

    def check(self, *, notebook: bool = True) -> Run:
        """Read every file of the record, raising DamagedRecord for the first damaged one; return the run.

        The artifacts are checked against manifest.json: one missing, changed or added after the run is named.
        ``notebook=False`` only checks that the executed notebook is there and begins as JSON does, and the artifacts'
        sizes rather than their sha256, so that a listing of many runs need not read every file whole.
        """
        self.params, self.metrics, self.manifest, self.inputs, self.environment  # noqa: B018 - read to check them
        if notebook:
            self.notebook  # noqa: B018
        else:
            _sniff(self.path, layout.NOTEBOOK)
        if not self.layout.artifacts.is_dir():
            raise DamagedRecord(self.path, layout.ARTIFACTS, "is missing")
        self._check_artifacts(hashes=notebook)
        return self

    def _check_artifacts(self, *, hashes: bool) -> None:
        """DamagedRecord naming the first artifact that is not as manifest.json lists it: missing, changed, added.

        ``hashes`` compares every file's sha256 too; otherwise only sizes (a listing of many runs stays quick).
        """
        artifacts = self.layout.artifacts
        for name, entry in self.manifest.items():
            shown = f"{layout.ARTIFACTS}/{name}"
            path = artifacts / name
            try:
                size = path.stat().st_size
                changed = size != entry.get("size") or (hashes and sha256(path) != entry.get("sha256"))
            except FileNotFoundError:
                raise DamagedRecord(self.path, shown, "is missing (manifest.json lists it)") from None
            except OSError as error:
                raise DamagedRecord(self.path, shown, _problem(error)) from None
            if changed:
                raise DamagedRecord(
                    self.path, shown, "was changed after its run (not the size and sha256 in manifest.json)"
                )
        for folder, _, files in os.walk(artifacts):
            for file in files:
                path = Path(folder, file)
                name = path.relative_to(artifacts).as_posix()
                # a file that could not be hashed when the run ended is named in status.json, not in the manifest
                if name not in self.manifest and path.is_file() and os.access(path, os.R_OK):
                    shown = f"{layout.ARTIFACTS}/{name}"
                    raise DamagedRecord(self.path, shown, "was added after its run (manifest.json does not list it)")


def _sniff(root: Path, name: str) -> None:
    """Raise DamagedRecord unless ``root / name`` exists and starts like a JSON object."""
    try:
        with open(root / name, "rb") as file:
            start = file.read(64).lstrip()
    except OSError as error:
        raise DamagedRecord(root, name, _problem(error)) from None
    if not start.startswith(b"{"):
        raise DamagedRecord(root, name, "is not a notebook")


@dataclass(frozen=True)
class Damaged:
    """An entry of the runs directory that looks like a run but cannot be read; ``error`` says which file."""

    path: Path
    error: DamagedRecord

    @property
    def id(self) -> str:
        return self.path.name


def _looks_like_a_run(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in layout.RECORD)


def find_run(run: str | os.PathLike, runs_dir: str | os.PathLike | None = None) -> Run:
    """A run by its directory, its id in the runs directory, a unique start of its id, or ``latest`` (the newest).

    RunNotFound, AmbiguousRef (several ids start so), DamagedRecord.
    """
    runs = settings.runs_dir(runs_dir)
    for candidate in (Path(run), runs / str(run)):
        try:
            if layout.is_listed(candidate) and _looks_like_a_run(candidate):
                return Run.open(candidate)
        except (OSError, ValueError):  # a name too long, or with a NUL byte: not a run
            continue
    ref = str(run)
    if ref == layout.LATEST:
        newest = list_runs(runs)
        if newest:
            return max(newest, key=lambda found: (found.info.started, found.id))
    elif layout.could_be_a_prefix(ref):
        matches = [path for path in _entries(runs) if path.name.startswith(ref) and _looks_like_a_run(path)]
        if len(matches) == 1:
            return Run.open(matches[0])
        if matches:
            raise AmbiguousRef("run", ref, sorted(path.name for path in matches))
    raise RunNotFound(run, runs)


def _entries(runs: Path) -> list[Path]:
    """The entries of the runs directory that may be runs; none when it cannot be listed."""
    try:
        return [path for path in runs.iterdir() if layout.is_listed(path)]
    except OSError:
        return []


def scan(runs_dir: str | os.PathLike | None = None) -> list[Run | Damaged]:
    """Every finished run in the runs directory, oldest first, the damaged ones included (and last)."""
    runs = settings.runs_dir(runs_dir)
    try:
        entries = [path for path in runs.iterdir() if layout.is_listed(path) and _looks_like_a_run(path)]
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise RunsDirError(runs, "is a file, not a directory") from None
    except OSError as error:
        raise RunsDirError(runs, f"cannot be listed ({error.strerror})") from None
    found: list[Run | Damaged] = []
    for path in entries:
        try:
            run = Run.open(path).check(notebook=False)
        except DamagedRecord as error:
            found.append(Damaged(path, error))
        else:
            found.append(run)
    return sorted(found, key=lambda entry: (isinstance(entry, Damaged), _started(entry), entry.id))


def _started(entry: Run | Damaged) -> str:
    return entry.info.started if isinstance(entry, Run) else ""


def list_runs(runs_dir: str | os.PathLike | None = None) -> list[Run]:
    """Every readable finished run in the runs directory, oldest first (``kit runs`` also shows damaged ones)."""
    return [entry for entry in scan(runs_dir) if isinstance(entry, Run)]
