"""The sweep record: ``runs/sweeps/SWEEP/sweep.json`` (its place in :mod:`.layout`), typed, read back, written.

It holds the sweep's id, the notebook, the grid as given, the thread count and timeout of every point, the start
and end, and each point: its parameters, its runs (one per attempt: the first, then one per ``--resume``) and its
status. The runs are ordinary run records in the runs directory, and their own status.json is what counts: a
reader takes a point's status from its last run when that run exists.

One process writes a sweep record at a time (it holds ``.lock``), always whole and atomically
(:func:`.jsonfile.write_json`): a reader sees the previous version or the next.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from kit import settings
from kit.errors import AmbiguousRef, DamagedRecord, DamagedSweep, RunNotFound, RunsDirError, SweepBusy, SweepNotFound
from kit.record import codec, layout
from kit.record.jsonfile import read_json, write_json
from kit.record.layout import SweepLayout
from kit.record.run import Damaged, Run, find_run
from kit.record.schema import Threads
from kit.record.store import check_runs_dir, new_run_id

_SWEEP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class SweepStatus(StrEnum):
    """Where a sweep is: running, one of three outcomes, or written for a Kubernetes cluster to run."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    EMITTED = "emitted"


class PointStatus(StrEnum):
    """A point's status: its run's, or pending (not started), or error (its run could not even be started)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    ERROR = "error"

    @property
    def finished(self) -> bool:
        return self not in (PointStatus.PENDING, PointStatus.RUNNING)


@dataclass(frozen=True)
class PointInfo(codec.Encodable):
    """One point: its index, the parameters given for it, its runs (the last is current), status and a message."""

    index: int
    parameters: dict[str, Any]
    runs: tuple[str, ...] = ()
    status: PointStatus = PointStatus.PENDING
    #: Why it failed (the run's failure, or why no run could start).
    message: str | None = None


@dataclass(frozen=True)
class SweepInfo(codec.Encodable):
    """``sweep.json``: what the sweep runs, how, when, and each point."""

    sweep_id: str
    status: SweepStatus
    #: The notebook as it was given, its absolute path then, and the sha256 of its bytes (points run that file).
    notebook: str
    notebook_path: str
    notebook_sha256: str
    #: The grid as given (``parameters``, ``grid``, ``points``; see :mod:`kit.sweeping.grid`).
    grid: dict[str, Any]
    #: The parameters whose value differs between points (the table's and the report's columns).
    swept: tuple[str, ...]
    #: The thread counts of every point's run.
    threads: Threads
    started: str
    points: tuple[PointInfo, ...]
    #: Seconds any one cell may take.
    timeout: float | None = None
    #: How many points ran at once, here (``workers``) or on a Dask cluster (``scheduler``).
    workers: int | None = None
    scheduler: str | None = None
    #: On a Dask cluster: ``shared`` (the workers wrote the records on a shared volume) or ``ship`` (each point's
    #: record came back to the client, which wrote it); ``auto`` until the cluster was asked.
    dask_mode: str | None = None
    kit: str = "unknown"
    ended: str | None = None
    #: Fields this version does not know (written by a newer kit): kept as they were.
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> SweepInfo:
        info = super().from_dict(data)
        check_sweep_id(info.sweep_id)
        if [point.index for point in info.points] != list(range(len(info.points))):
            raise ValueError("has points out of order")
        return info

    def with_point(self, point: PointInfo) -> SweepInfo:
        points = list(self.points)
        points[point.index] = point
        return dataclasses.replace(self, points=tuple(points))


def check_sweep_id(sweep_id: str) -> str:
    """A sweep id names a folder: the characters of a run id only (ValueError otherwise)."""
    if not _SWEEP_ID.fullmatch(sweep_id) or len(sweep_id) > layout.MAX_RUN_ID:
        raise ValueError(f"has a sweep id that cannot name a folder ({sweep_id[:40]!r})")
    return sweep_id


def new_sweep_id(stem: str) -> str:
    """``20261122-101530-sweep-train_tabular-3f9a0c12``: sortable, and its points' run ids stay short."""
    return new_run_id(f"sweep-{stem[:24]}")


def point_run_id(sweep_id: str, index: int, total: int, attempt: int = 0) -> str:
    """The run id of a point: ``SWEEP.p03``, and ``SWEEP.p03.r1`` for the first ``--resume`` that reruns it."""
    width = len(str(max(total - 1, 0)))
    return f"{sweep_id}.p{index:0{width}d}" + (f".r{attempt}" if attempt else "")


@dataclass(frozen=True, eq=False)
class Sweep:
    """A sweep record read back: ``info`` is its sweep.json; the points' runs are read from the runs directory."""

    path: Path
    info: SweepInfo
    runs_dir: Path

    @property
    def id(self) -> str:
        return self.info.sweep_id

    @property
    def layout(self) -> SweepLayout:
        return SweepLayout(self.path)

    @classmethod
    def open(cls, record: Path, runs_dir: Path | None = None) -> Sweep:
        """The sweep whose sweep.json is ``record``; its runs are in ``runs_dir`` (default: see :func:`find_sweep`)."""
        try:
            info = SweepInfo.from_dict(read_json(record))
        except FileNotFoundError:
            raise DamagedSweep(record, "is missing") from None
        except OSError as error:
            raise DamagedSweep(record, f"cannot be read ({error.strerror})") from None
        except ValueError as error:
            raise DamagedSweep(record, str(error)) from None
        return cls(record.parent, info, _runs_of(record, runs_dir))

    def run_of(self, point: PointInfo) -> Run | Damaged | None:
        """The point's last run that exists (a failed one included), None when none does."""
        for run_id in reversed(point.runs):
            path = self.runs_dir / run_id
            if not path.is_dir():
                continue
            try:
                return Run.open(path)
            except DamagedRecord as error:
                return Damaged(path, error)
        return None

    def succeeded(self, point: PointInfo) -> bool:
        """Whether any run of the point succeeded."""
        for run_id in point.runs:
            try:
                if Run.open(self.runs_dir / run_id).succeeded:
                    return True
            except DamagedRecord:
                continue
        return False

    def status_of(self, point: PointInfo, run: Run | Damaged | None) -> PointStatus:
        """A point's status: its current run's (the last attempt's) once that exists, else what the record says."""
        if run is None or not point.runs or run.id != point.runs[-1]:
            return point.status
        if isinstance(run, Damaged):
            return PointStatus.ERROR
        return PointStatus(run.status.value)


def reconcile(found: Sweep) -> Sweep:
    """The sweep with each point's runs and status taken from the run records that exist.

    A sweep killed before it rewrote sweep.json (it does so every half second) leaves points whose finished runs it
    does not list, or lists with the status they had before they ran (a point's first run id is listed from the
    start): ``kit sweep --resume`` reconciles first, so those are not run again and the record agrees with its runs.
    """
    info, total = found.info, len(found.info.points)
    try:
        names = {path.name for path in found.runs_dir.iterdir() if layout.is_listed(path)}
    except OSError:
        return found
    for point in info.points:
        first = point_run_id(found.id, point.index, total)
        attempts = re.compile(re.escape(first) + r"(?:\.r([0-9]+))?")

        def attempt(run_id: str, attempts: re.Pattern = attempts) -> int:
            match = attempts.fullmatch(run_id)
            return int(match.group(1) or 0) if match else -1

        runs = tuple(sorted({*point.runs, *(name for name in names if attempts.fullmatch(name))}, key=attempt))
        updated = dataclasses.replace(point, runs=runs)
        run = found.run_of(updated)  # the status too: a point's first run is listed before it runs
        if isinstance(run, Run) and run.id == runs[-1]:
            failure = run.info.failure.describe() if run.info.failure else None
            updated = dataclasses.replace(updated, status=PointStatus(run.status.value), message=failure)
        if updated != point:
            info = info.with_point(updated)
    return dataclasses.replace(found, info=info)


def _runs_of(record: Path, runs_dir: str | os.PathLike | None) -> Path:
    """Where a sweep's runs are: as given, else the runs directory its record is in, else the default one."""
    if runs_dir is not None:
        return Path(runs_dir)
    if record.parent.parent.name == layout.SWEEPS:
        return record.parent.parent.parent
    return settings.runs_dir()


def find_sweep(ref: str | os.PathLike, runs_dir: str | os.PathLike | None = None) -> Sweep:
    """A sweep by its id, its folder, its sweep.json, a unique start of its id, or ``latest`` (the newest).

    SweepNotFound, AmbiguousRef (several ids start so), DamagedSweep.
    """
    runs = settings.runs_dir(runs_dir)
    given = Path(ref)
    for record in (SweepLayout.of(runs, str(ref)).record, given / layout.SWEEP, given):
        try:
            found = record.name == layout.SWEEP and record.is_file()
        except (OSError, ValueError):  # a name too long, or with a NUL byte: not a sweep
            continue
        if found:
            return Sweep.open(record, _runs_of(record, runs_dir))
    text = str(ref)
    if text == layout.LATEST or layout.could_be_a_prefix(text):
        try:
            records = [path / layout.SWEEP for path in (runs / layout.SWEEPS).iterdir()]
        except OSError:
            records = []
        if text == layout.LATEST:
            sweeps = [sweep for record in records if (sweep := _readable(record, runs))]
            if sweeps:
                return max(sweeps, key=lambda sweep: (sweep.info.started, sweep.id))
        else:
            matches = [record for record in records if record.parent.name.startswith(text) and record.is_file()]
            if len(matches) == 1:
                return Sweep.open(matches[0], runs)
            if matches:
                raise AmbiguousRef("sweep", text, sorted(record.parent.name for record in matches))
    raise SweepNotFound(ref, runs)


def _readable(record: Path, runs: Path) -> Sweep | None:
    try:
        return Sweep.open(record, runs) if record.is_file() else None
    except DamagedSweep:
        return None


def find_run_or_sweep(ref: str | os.PathLike, runs_dir: str | os.PathLike | None = None) -> Run | Sweep:
    """The run ``ref`` names (see :func:`kit.record.find_run`), else the sweep; RunNotFound when it names neither.

    A start of an id that several runs share but one sweep only (a sweep's id starts its points' run ids) is the
    sweep.
    """
    try:
        return find_run(ref, runs_dir)
    except (RunNotFound, AmbiguousRef) as error:
        try:
            return find_sweep(ref, runs_dir)
        except (SweepNotFound, AmbiguousRef):
            raise error from None


def reserve(runs: Path, sweep_id: str) -> SweepLayout:
    """Make the sweep's folder (``mkdir`` is atomic: FileExistsError when the id is taken); RunsDirError."""
    check_runs_dir(runs)
    where = SweepLayout.of(runs, sweep_id)
    try:
        where.root.parent.mkdir(parents=True, exist_ok=True)
        where.root.mkdir()
    except FileExistsError:
        raise
    except OSError as error:
        raise RunsDirError(runs, f"cannot be written ({error.strerror})") from None
    return where


def write(where: SweepLayout, info: SweepInfo) -> None:
    write_json(where.record, info.to_dict())


@contextmanager
def held(where: SweepLayout, sweep_id: str) -> Iterator[None]:
    """Hold the sweep's lock while it runs here; SweepBusy when another process holds it (the OS frees it on exit)."""
    try:
        descriptor = os.open(where.lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise RunsDirError(where.root, f"cannot be written ({error.strerror})") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepBusy(sweep_id) from None
        yield
    finally:
        os.close(descriptor)
