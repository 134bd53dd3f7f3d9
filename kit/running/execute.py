"""Executing a prepared run, and leaving a complete record whatever happens: reserve, start, run, complete, publish.

The record is written in a hidden directory reserved for the run (:mod:`kit.record.store`) and published under
its id once complete. Whatever goes wrong after that point (the notebook raises, a cell times out, the kernel
dies, Ctrl-C, an artifact the notebook made unreadable) ends as a visible, complete record whose status.json
says what happened. ``execute`` has no global state (no chdir; the environment goes to its own kernel only), so
a sweep can call it from many threads or processes at once.

The steps live elsewhere: the cells run in :mod:`.cells`, the kernel is watched (measured, given a sweep's slot,
stopped) by :mod:`.kernel`, a failure is read by :mod:`.failure`, the record is completed by
:func:`kit.record.store.complete`.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from datetime import UTC, datetime

from kit.errors import Interrupted, RunFailed, RunNotStarted
from kit.record import Failure, Run, RunInfo, RunStatus, store
from kit.record.jsonfile import write_json
from kit.record.layout import RunLayout
from kit.running import cells, failure
from kit.running.environment import environment
from kit.running.kernel import Slots, Stopped, Watch
from kit.running.plan import Plan
from kit.version import __version__


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def execute(
    plan: Plan,
    *,
    progress: bool = False,
    slots: Slots | None = None,
    stop: threading.Event | None = None,
    worker: dict[str, str] | None = None,
) -> Run:
    """Run the plan and record it; return the run.

    Raises RunFailed when the notebook raises, a cell takes longer than the timeout, the kernel dies or the record
    could not be completed as it should, and Interrupted on Ctrl-C or once ``stop`` is set: both after the record is
    complete and visible. Raises RunIdTaken or RunsDirError, with nothing written, when the record cannot be
    started; RunIdTaken also when another attempt at a retryable plan recorded it first (this one's is removed);
    RunNotStarted, with nothing written, when ``stop`` was set before the first cell ran. ``slots`` limits how
    many runs execute cells at once (see :class:`kit.running.kernel.Slots`). ``worker`` says which machine of a
    cluster ran it (a Dask worker's address and host): environment.json keeps it as ``worker``.
    """
    env = environment(plan.invocation.cwd)
    reservation = store.reserve(plan.runs_dir, plan.run_id, plan.notebook.path.stem, retryable=plan.retryable)
    record = RunLayout(reservation.path)
    info = RunInfo(
        run_id=reservation.run_id,
        status=RunStatus.RUNNING,
        notebook=plan.invocation.notebook,
        notebook_path=str(plan.notebook.path.resolve()),
        started=_iso(reservation.started),
        invocation=plan.invocation,
        kit=__version__,
    )
    watch = Watch(slots, stop)
    status, found = _run(plan, record, info, progress, watch)
    if status is None:  # a sweep stopped before this run's first cell: it never ran, so it leaves nothing
        watch.close()
        shutil.rmtree(reservation.path, ignore_errors=True)
        raise RunNotStarted(reservation.run_id)
    resources = watch.close()
    invocation = plan.invocation
    ran_on = {**env, "threads": invocation.threads.to_dict(), "hash_seed": invocation.hash_seed}
    if worker is not None:
        ran_on["worker"] = worker
    problems = store.complete(record, plan.notebook.node, ran_on)
    if problems and found is None:
        status, found = RunStatus.FAILED, Failure("RecordError", "; ".join(problems)[: failure.MAX_EVALUE])
    ended, started = time.time(), watch.slot_taken or reservation.started
    info = dataclasses.replace(
        info,
        status=status,
        failure=found,
        started=_iso(started),
        ended=_iso(ended),
        duration_s=round(ended - started, 3),
        record_problems=tuple(problems),
        resources=resources,
    )
    write_json(record.status, info.to_dict())
    run = Run.open(reservation.publish())
    if status is RunStatus.INTERRUPTED:
        raise Interrupted(run.path)
    if found is not None:
        raise RunFailed(run.path, found)
    return run


def _run(plan: Plan, record: RunLayout, info: RunInfo, progress: bool,
         watch: Watch) -> tuple[RunStatus | None, Failure | None]:  # fmt: skip
    """Start the record and run the cells: the status and failure to record; no status when nothing ran."""
    try:
        write_json(record.params, plan.params)
        write_json(record.status, info.to_dict())
        found = cells.execute(plan, record, info.run_id, progress=progress, watch=watch)
    except Stopped:
        return None, None
    except KeyboardInterrupt:
        return RunStatus.INTERRUPTED, failure.interrupted(record.notebook)
    except Exception as error:  # the record's first files could not be written: recorded all the same
        found = failure.unexpected(error)
    if found is None:
        return RunStatus.SUCCEEDED, None
    if watch.stopping and not watch.ran_cells:  # the sweep stopped while the kernel started: nothing of it ran
        return None, None
    if watch.stopping:  # the kernel was interrupted (or killed) because the sweep stops
        return RunStatus.INTERRUPTED, Failure("KeyboardInterrupt", "", found.cell_index, found.execution_count)
    return RunStatus.FAILED, found
