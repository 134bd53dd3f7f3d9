"""Running one point of a sweep, here or on another machine, so that it is recorded once however often it is tried.

A point's run id is fixed by the sweep (``SWEEP.p03``). Running a point first looks for a finished record of
that id: if one exists (an earlier attempt finished, then its worker died before saying so), that is the
point's outcome and nothing runs. Otherwise the run is *retryable* (:mod:`kit.record.store`): it writes in a
hidden directory of its own attempt, and if another attempt publishes first, this one's duplicate is removed and
the other's record is the outcome.

On a Dask worker or in a Kubernetes pod the point comes as a :class:`Job`, plain data, and is prepared there
again (checked against the notebook the sweep prepared, by its sha256).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.errors import DamagedRecord, KitError, NotebookChanged, RunError, RunIdTaken, RunNotStarted
from kit.record import Run, codec
from kit.record.hashing import sha256
from kit.record.schema import Threads
from kit.record.sweep import PointStatus, SweepInfo
from kit.running import Plan, prepare
from kit.running.execute import execute
from kit.running.kernel import Slots


@dataclass(frozen=True)
class Outcome(codec.Encodable):
    """How a point ended: its run (None when none could be started) and status, and why when it failed."""

    index: int
    status: PointStatus
    run_id: str | None = None
    message: str | None = None
    duration_s: float | None = None


def recorded(index: int, run: Run) -> Outcome:
    """The outcome a finished record says."""
    failure = run.info.failure.describe() if run.info.failure else None
    return Outcome(index, PointStatus(run.status.value), run.id, failure, run.info.duration_s)


def run(index: int, plan: Plan, *, slots: Slots | None = None, stop: threading.Event | None = None,
        worker: dict[str, str] | None = None) -> Outcome:  # fmt: skip
    """Run one point's plan (its ``run_id`` given, retryable) unless its record exists; never raises for a run.

    ``worker``: the cluster's machine that runs it, recorded (see :func:`kit.running.execute`).
    """
    existing = plan.runs_dir / plan.run_id
    if existing.is_dir():
        try:
            return recorded(index, Run.open(existing))
        except DamagedRecord as error:
            return Outcome(index, PointStatus.ERROR, plan.run_id, str(error))
    if stop is not None and stop.is_set():
        return Outcome(index, PointStatus.PENDING)
    try:
        return recorded(index, execute(plan, slots=slots, stop=stop, worker=worker))
    except RunError as error:  # failed or interrupted, and recorded (unless the runs directory could not keep it)
        if error.run_dir is None:
            return Outcome(index, PointStatus.ERROR, None, str(error))
        return recorded(index, Run.open(error.run_dir))
    except RunIdTaken:  # another attempt recorded the point first: that is its record
        return recorded(index, Run.open(existing))
    except RunNotStarted:  # stopped while its kernel waited to start: the point is still to run
        return Outcome(index, PointStatus.PENDING)
    except KitError as error:  # the record could not be started (the runs directory went away)
        return Outcome(index, PointStatus.ERROR, None, str(error))


@dataclass(frozen=True)
class Job(codec.Encodable):
    """A point as plain data, for a machine that prepares it again: a Dask worker, a Kubernetes pod."""

    index: int
    notebook_path: str
    notebook_sha256: str
    parameters: dict[str, Any]
    run_id: str
    threads: Threads
    timeout: float | None
    runs_dir: str

    @classmethod
    def of(cls, info: SweepInfo, index: int, plan: Plan, runs: Path, notebook: Path | None = None) -> Job:
        """The job of point ``index`` of a sweep, prepared here as ``plan``; ``notebook`` where it is over there."""
        return cls(index, str(notebook or info.notebook_path), info.notebook_sha256, plan.invocation.parameters,
                   plan.run_id, info.threads, info.timeout, str(runs.resolve()))  # fmt: skip

    def plan(self) -> Plan:
        """The point prepared here; NotebookChanged when this machine's notebook is not the one swept."""
        notebook = Path(self.notebook_path)
        try:
            if sha256(notebook) != self.notebook_sha256:
                raise NotebookChanged(notebook, "differs from the notebook the sweep prepared")
        except OSError as error:
            raise NotebookChanged(notebook, f"cannot be read here ({error.strerror})") from None
        plan = prepare(notebook, self.parameters, runs_dir=self.runs_dir, run_id=self.run_id, timeout=self.timeout,
                       threads=self.threads)  # fmt: skip
        return dataclasses.replace(plan, retryable=True)


def run_job(job: Job, *, stop: threading.Event | None = None, worker: dict[str, str] | None = None) -> Outcome:
    """Prepare and run a point on this machine; a point that cannot be prepared here is an error outcome."""
    try:
        plan = job.plan()
    except KitError as error:
        return Outcome(job.index, PointStatus.ERROR, None, str(error))
    return run(job.index, plan, stop=stop, worker=worker)
