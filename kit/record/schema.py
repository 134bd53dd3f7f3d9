"""The typed run record: what ``status.json`` holds, and the shapes of the record's other JSON files.

Writers build these values and call ``to_dict``; readers call ``from_dict``, which is where a damaged file is
caught: a missing field or a value of the wrong type raises ValueError naming it, which
:class:`kit.record.run.Run` turns into one clear :class:`kit.errors.DamagedRecord`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

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


def _get(data: Any, key: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
    """``data[key]``, checked to be of ``kind`` (never a bool; None when ``optional``); ValueError names it."""
    if not isinstance(data, dict):
        raise ValueError(f"is not a JSON object where {key!r} should be")
    value = data.get(key)
    if value is None and optional:
        return None
    if key not in data:
        raise ValueError(f"has no {key!r}")
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"has {key!r} of the wrong type ({type(value).__name__})")
    return value


@dataclass(frozen=True)
class Failure:
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
        if len(first) > 160:
            first = first[:159] + "…"
        detail = f"{self.ename}: {first.rstrip('.')}" if first else self.ename
        fix = ": pass a larger --timeout, or none" if self.ename == "CellTimeoutError" else ""
        return f"{where} failed with {detail}{fix}"

    def to_dict(self) -> dict:
        return {
            "cell_index": self.cell_index,
            "execution_count": self.execution_count,
            "ename": self.ename,
            "evalue": self.evalue,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Failure:
        return cls(
            ename=_get(data, "ename", str),
            evalue=_get(data, "evalue", str, optional=True) or "",
            cell_index=_get(data, "cell_index", int, optional=True),
            execution_count=_get(data, "execution_count", int, optional=True),
        )


@dataclass(frozen=True)
class Threads:
    """The thread counts of a run and where they came from (``cpu-quota``, ``KIT_THREADS``, ``given``, ``record``).

    Results of TensorFlow (and of threaded BLAS reductions) depend on how many threads split the work, not on how
    many CPUs run them: fixing the counts makes a run on one CPU give the bits of a run on eight.
    """

    intra_op: int
    inter_op: int
    source: str

    def variables(self) -> dict[str, str]:
        """The environment that applies these counts in a kernel."""
        return {**{name: str(self.intra_op) for name in INTRA_OP_VARIABLES}, INTER_OP_VARIABLE: str(self.inter_op)}

    def to_dict(self) -> dict:
        return {**asdict(self), "variables": self.variables()}

    @classmethod
    def from_dict(cls, data: Any) -> Threads:
        counts = [_get(data, key, int) for key in ("intra_op", "inter_op")]
        if min(counts) < 1:
            raise ValueError("has a thread count below 1")
        return cls(*counts, _get(data, "source", str, optional=True) or "record")


@dataclass(frozen=True)
class Invocation:
    """How a run was asked for, resolved: what ``kit verify`` replays to make the same run again."""

    #: The notebook as it was given (shown in tables); the run's own notebook.ipynb is what verify executes.
    notebook: str
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

    def to_dict(self) -> dict:
        return {
            "parameters": self.parameters,
            "timeout": self.timeout,
            "cwd": self.cwd,
            "kernel": self.kernel,
            "threads": self.threads.to_dict(),
            "hash_seed": self.hash_seed,
            "verifies": self.verifies,
        }

    @classmethod
    def from_dict(cls, data: Any, notebook: str) -> Invocation:
        return cls(
            notebook=notebook,
            parameters=_get(data, "parameters", dict),
            cwd=_get(data, "cwd", str),
            threads=Threads.from_dict(_get(data, "threads", dict)),
            hash_seed=_get(data, "hash_seed", str),
            kernel=_get(data, "kernel", str, optional=True) or "python3",
            timeout=_get(data, "timeout", (int, float), optional=True),
            verifies=_get(data, "verifies", str, optional=True),
        )


@dataclass(frozen=True)
class Resources:
    """What a run's kernel and the processes it started used (see :mod:`kit.running.resources`)."""

    #: User and system CPU seconds of the kernel and its child processes, kernel start-up included.
    cpu_s: float
    #: The largest resident memory of the kernel and its child processes together, in bytes.
    peak_rss_bytes: int
    #: How often the process tree was sampled: a peak shorter than this may be missed (the kernel's own is not).
    interval_s: float

    @property
    def peak_mb(self) -> float:
        return self.peak_rss_bytes / 2**20

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Resources:
        values = (
            _get(data, "cpu_s", (int, float)),
            _get(data, "peak_rss_bytes", int),
            _get(data, "interval_s", (int, float)),
        )
        if min(values) < 0:
            raise ValueError("has a negative resource figure")
        return cls(float(values[0]), values[1], float(values[2]))


@dataclass(frozen=True)
class RunInfo:
    """``status.json``: a run's id, status, times, invocation and, unless it succeeded, its failure."""

    run_id: str
    status: RunStatus
    #: The notebook as it was given, and its absolute path then.
    notebook: str
    notebook_path: str
    #: ISO 8601 times in UTC; ``ended`` and ``duration_s`` are None while running.
    started: str
    invocation: Invocation
    kit: str
    ended: str | None = None
    duration_s: float | None = None
    failure: Failure | None = None
    #: What could not be recorded as it should (an unreadable artifact): the run then failed, saying so.
    record_problems: tuple[str, ...] = ()
    #: CPU seconds and peak memory of the kernel's processes; None when no kernel started (or an older kit ran it).
    resources: Resources | None = None
    #: Fields this version does not know (written by a newer kit): kept as they were.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "status": self.status.value,
            "run_id": self.run_id,
            "notebook": self.notebook,
            "notebook_path": self.notebook_path,
            "started": self.started,
            "ended": self.ended,
            "duration_s": self.duration_s,
            "invocation": self.invocation.to_dict(),
            "failure": self.failure.to_dict() if self.failure else None,
            "record_problems": list(self.record_problems),
            "resources": self.resources.to_dict() if self.resources else None,
            "kit": self.kit,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: Any) -> RunInfo:
        status = _get(data, "status", str)
        if status not in RunStatus.__members__.values():
            raise ValueError(f"has an unknown status {status[:40]!r}")
        notebook = _get(data, "notebook", str)
        failure = _get(data, "failure", dict, optional=True)
        problems = _get(data, "record_problems", list, optional=True) or []
        resources = _get(data, "resources", dict, optional=True)
        known = {"status", "run_id", "notebook", "notebook_path", "started", "ended", "duration_s", "invocation"}
        known |= {"failure", "kit", "record_problems", "resources"}
        return cls(
            run_id=_get(data, "run_id", str),
            status=RunStatus(status),
            notebook=notebook,
            notebook_path=_get(data, "notebook_path", str),
            started=_get(data, "started", str),
            invocation=Invocation.from_dict(_get(data, "invocation", dict), notebook),
            kit=_get(data, "kit", str, optional=True) or "unknown",
            ended=_get(data, "ended", str, optional=True),
            duration_s=_get(data, "duration_s", (int, float), optional=True),
            failure=Failure.from_dict(failure) if failure is not None else None,
            record_problems=tuple(str(problem) for problem in problems),
            resources=Resources.from_dict(resources) if resources is not None else None,
            extra={
                key: value for key, value in data.items() if key not in known | {"failure", "kit", "record_problems"}
            },
        )


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


def check_manifest(data: Any) -> dict[str, dict]:
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object of artifact names and entries")
    for name, entry in data.items():
        size, digest = _get(entry, "size", int), _get(entry, "sha256", str)
        if size < 0 or len(digest) != 64:
            raise ValueError(f"has a bad entry for {name[:40]!r}")
    return data


#: Sections of environment.json that readers look into; each is an object when present.
ENVIRONMENT_SECTIONS = ("python", "platform", "cpu", "image", "git", "packages", "threads", "seed")


def check_environment(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object")
    for section in ENVIRONMENT_SECTIONS:
        _get(data, section, dict, optional=True)
    return data


def same_number(a: Any, b: Any) -> bool:
    """Equality in which NaN equals NaN (records of older kits may hold it)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b
