"""Executing a prepared run, and leaving a complete record whatever happens: reserve, start, run, complete, publish.

The record is written in a hidden directory reserved for the run (:mod:`kit.record.store`) and published under
its id once complete. Whatever goes wrong after that point (the notebook raises, a cell times out, the kernel
dies, Ctrl-C or SIGTERM, an artifact the notebook made unreadable) ends as a visible, complete record whose status.json
says what happened; a runs directory that fills up or turns read-only meanwhile ends as :mod:`.room` says.
``execute`` has no global state (no chdir; the environment goes to its own kernel only), so
a sweep can call it from many threads or processes at once.

The steps live elsewhere: the cells run in :mod:`.cells`, the kernel is watched (measured, given a sweep's slot,
stopped) by :mod:`.kernel`, a failure is read by :mod:`.failure`, the record is completed by
:func:`kit.record.store.complete`.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import threading
import time
from datetime import UTC, datetime

from kit.errors import Interrupted, RunFailed, RunNotStarted
from kit.record import Failure, Run, RunInfo, RunStatus, store
from kit.record.jsonfile import write_json
from kit.record.layout import RunLayout
from kit.running import cells, failure, room, stopping
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
    could not be completed as it should, and Interrupted on Ctrl-C or SIGTERM (once :mod:`.stopping` made it end
    like Ctrl-C) or once ``stop`` is set: all after the record is complete and visible. A signal that comes while
    the record is being completed waits until it is published. Raises RunIdTaken or RunsDirError, with nothing
    written, when the record cannot be started (RunsDirFull when the runs directory is full or read-only); RunIdTaken
    also when another attempt at a retryable plan recorded it first (this one's is removed); RecordNotKept when the
    runs directory filled up or turned read-only during the run (see :mod:`.room`); RunNotStarted, with nothing
    written, when ``stop`` was set before the first cell ran. ``slots`` limits how many runs execute cells at once
    (see :class:`kit.running.kernel.Slots`). ``worker`` says which machine of a cluster ran it (a Dask
    worker's address and host): environment.json keeps it as ``worker``.
    """
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
    captured: list[dict] = []  # what the run ran on, read while its kernel boots (the first read takes a while)
    watch = Watch(slots, stop, booting=lambda: captured.append(environment(plan.invocation.cwd)))
    status, found = _run(plan, record, info, progress, watch)
    env = captured[0] if captured else environment(plan.invocation.cwd)  # no kernel started: read now
    if worker is not None:
        env = {**env, "worker": worker}
    with stopping.deferred() as signals:
        if status is None:  # a sweep stopped before this run's first cell: it never ran, so it leaves nothing
            watch.close()
            reservation.discard()
            raise RunNotStarted(reservation.run_id)
        run, status, found = _record(plan, reservation, info, watch, (status, found), env)
    if status is RunStatus.INTERRUPTED:
        raise Interrupted(run.path, terminated=stopping.terminated())
    if signals:  # Ctrl-C or SIGTERM while the record was completed: it is, and the process stops now
        raise Interrupted(run.path, terminated=stopping.terminated(), completed=True)
    if found is not None:
        raise RunFailed(run.path, found)
    return run


def _record(plan: Plan, reservation: store.Reservation, info: RunInfo, watch: Watch,
            outcome: tuple[RunStatus, Failure | None], env: dict) -> tuple[Run, RunStatus, Failure | None]:  # fmt: skip
    """Complete the record and publish it: the run, its status and failure; RecordNotKept when it cannot be kept."""
    record, (status, found) = RunLayout(reservation.path), outcome
    invocation = plan.invocation
    ran_on = {**env, "threads": invocation.threads.to_dict(), "hash_seed": invocation.hash_seed}
    resources = watch.close()
    try:
        if found is not None and _filled_up(found, plan):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
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
        return Run.open(reservation.publish()), status, found
    except OSError as error:
        problem = store.room_problem(error)
        if problem is None:
            raise
        raise room.not_kept(reservation, info, problem, plan.notebook.node, ran_on) from None


def _filled_up(found: Failure, plan: Plan) -> bool:
    """Whether the run failed because the runs directory filled up (the notebook wrote an artifact too large)."""
    said = f"{found.ename}: {found.evalue}"
    return any(f"[Errno {number}]" in said for number in (errno.ENOSPC, errno.EDQUOT)) and store.is_full(plan.runs_dir)


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
        return RunStatus.INTERRUPTED, failure.interrupted(record.notebook, stopping.cause())
    except Exception as error:  # the record's first files could not be written: recorded all the same
        found = failure.unexpected(error)
    if found is None:
        return RunStatus.SUCCEEDED, None
    if watch.stopping and not watch.ran_cells:  # the sweep stopped while the kernel started: nothing of it ran
        return None, None
    if watch.stopping:  # the kernel was interrupted (or killed) because the sweep stops
        return RunStatus.INTERRUPTED, Failure("KeyboardInterrupt", stopping.cause(), found.cell_index,
                                              found.execution_count)  # fmt: skip
    return RunStatus.FAILED, found
