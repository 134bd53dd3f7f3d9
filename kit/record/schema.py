"""The typed run record: what ``status.json`` holds, and the shapes of the record's other JSON files.

Writers build these values and call ``to_dict``; readers call ``from_dict``, which is where a damaged file is
caught: a missing field or a value of the wrong type raises ValueError naming it, which
:class:`kit.record.run.Run` turns into one clear :class:`kit.errors.DamagedRecord`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kit.record import codec
from kit.shorten import cut

#: The environment variables each threaded library reads at load time, for its intra-op thread pool.
INTRA_OP_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
)
INTER_OP_VARIABLE = "TF_NUM_INTEROP_THREADS"


class RunStatus(StrEnum):
    """Where a run is: running while its record is hidden, then one of the three outcomes."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Failure(codec.Encodable):
    """Where and how a run failed. ``cell_index`` is papermill's (counted from 0, the injected cell included)."""

    ename: str
    evalue: str = ""
    cell_index: int | None = None
    execution_count: int | None = None

    def describe(self) -> str:
        """One line: ``cell 2 (In [3]) failed with ValueError: bad x``."""
        if self.cell_index is None:
            where = "the run"
        else:
            where = f"cell {self.cell_index}" + (f" (In [{self.execution_count}])" if self.execution_count else "")
        first = next((line.strip() for line in self.evalue.splitlines() if line.strip()), "")
        first = cut(first, 160)
        detail = f"{self.ename}: {first.rstrip('.')}" if first else self.ename
        fix = ": pass a larger --timeout, or none" if self.ename == "CellTimeoutError" else ""
        return f"{where} failed with {detail}{fix}"


@dataclass(frozen=True)
class Threads(codec.Encodable):
    """The thread counts of a run and where they came from (``cpu-quota``, ``KIT_THREADS``, ``given``, ``record``).

    Results of TensorFlow (and of threaded BLAS reductions) depend on how many threads split the work, not on how
    many CPUs run them: fixing the counts makes a run on one CPU give the bits of a run on eight.
    """

    intra_op: int
    inter_op: int
    source: str = "record"

    def __post_init__(self) -> None:
        if min(self.intra_op, self.inter_op) < 1:
            raise ValueError("has a thread count below 1")

    def variables(self) -> dict[str, str]:
        """The environment that applies these counts in a kernel."""
        return {**{name: str(self.intra_op) for name in INTRA_OP_VARIABLES}, INTER_OP_VARIABLE: str(self.inter_op)}

    def to_dict(self) -> dict:
        return {**codec.encode(self), "variables": self.variables()}  # the variables, for people reading the file


@dataclass(frozen=True)
class Invocation(codec.Encodable):
    """How a run was asked for, resolved: what ``kit verify`` replays to make the same run again."""

    #: The notebook as it was given (shown in tables); the run's own notebook.ipynb is what verify executes.
    #: Not written here: status.json has it once, beside the invocation.
    notebook: str = codec.field(skip=True)
    #: The parameters given, converted to their types; the others ran with their defaults (params.json has all).
    parameters: dict[str, Any]
    #: The directory the kernel worked in.
    cwd: str
    threads: Threads
    #: ``PYTHONHASHSEED`` of the kernel.
    hash_seed: str
    kernel: str = "python3"
    #: Seconds any one cell may take; None for no limit.
    timeout: float | None = None
    #: The id of the run this one re-executes (``kit verify``).
    verifies: str | None = None


def _invocation(value: Any, status: dict) -> Invocation:
    """The invocation in status.json, with the notebook it holds once, beside it."""
    return Invocation.from_dict(value, notebook=status["notebook"])


@dataclass(frozen=True)
class Resources(codec.Encodable):
    """What a run's kernel and the processes it started used (see :mod:`kit.running.resources`)."""

    #: User and system CPU seconds of the kernel and its child processes, kernel start-up included.
    cpu_s: float
    #: The largest resident memory of the kernel and its child processes together, in bytes.
    peak_rss_bytes: int
    #: How often the process tree was sampled: a peak shorter than this may be missed (the kernel's own is not).
    interval_s: float

    def __post_init__(self) -> None:
        if min(self.cpu_s, self.peak_rss_bytes, self.interval_s) < 0:
            raise ValueError("has a negative resource figure")

    @property
    def peak_mb(self) -> float:
        return self.peak_rss_bytes / 2**20


@dataclass(frozen=True)
class RunInfo(codec.Encodable):
    """``status.json``: a run's id, status, times, invocation and, unless it succeeded, its failure."""

    run_id: str
    status: RunStatus
    #: The notebook as it was given, and its absolute path then.
    notebook: str
    notebook_path: str
    #: ISO 8601 times in UTC; ``ended`` and ``duration_s`` are None while running.
    started: str
    #: Read with the notebook above, which status.json holds once.
    invocation: Invocation = codec.field(
        decode=lambda value, data: Invocation.from_dict(value, notebook=data["notebook"])
    )
    kit: str = "unknown"
    ended: str | None = None
    duration_s: float | None = None
    failure: Failure | None = None
    #: What could not be recorded as it should (an unreadable artifact): the run then failed, saying so.
    record_problems: tuple[str, ...] = ()
    #: CPU seconds and peak memory of the kernel's processes; None when no kernel started (or an older kit ran it).
    resources: Resources | None = None
    #: Fields this version does not know (written by a newer kit): kept as they were.
    extra: dict[str, Any] = field(default_factory=dict)


# The record's other JSON files: plain data, checked for the shape their readers rely on.


def check_params(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object of parameter names and values")
    return data


def check_metrics(data: Any) -> dict[str, float | int]:
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object of metric names and numbers")
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"has a metric {name[:40]!r} that is not a number")
    return data


@dataclass(frozen=True)
class ManifestEntry:
    """One artifact in manifest.json (see :mod:`kit.record.manifest`); readers keep the entries as plain dicts."""

    size: int
    sha256: str
    #: For saved models: a hash of what the model is, and what that hash ignores.
    content_sha256: str | None = None
    content_note: str | None = None


def check_manifest(data: Any) -> dict[str, dict]:
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object of artifact names and entries")
    for name, entry in data.items():
        checked = codec.decode(ManifestEntry, entry)
        if checked.size < 0 or len(checked.sha256) != 64:
            raise ValueError(f"has a bad entry for {name[:40]!r}")
    return data


#: Sections of environment.json that readers look into; each is an object when present.
ENVIRONMENT_SECTIONS = ("python", "platform", "cpu", "image", "git", "packages", "threads", "seed")


def check_environment(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object")
    for section in ENVIRONMENT_SECTIONS:
        if data.get(section) is not None and not isinstance(data[section], dict):
            raise ValueError(f"has {section!r} of the wrong type ({type(data[section]).__name__})")
    return data


def same_number(a: Any, b: Any) -> bool:
    """Equality in which NaN equals NaN (records of older kits may hold it)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b
