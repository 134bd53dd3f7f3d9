"""A sweep from start to end: prepare, reserve its record, run the points in a pool, keep the record, say how it ended.

Every point is prepared (:mod:`.plan`) before anything is written: a mistake in any point is one
:class:`kit.errors.PointError`, and nothing exists. The pool (:mod:`.local`, or :mod:`.dask` with a scheduler;
the contract in :mod:`.pool`) is made next, so that a scheduler that does not answer costs nothing either. Then the
sweep's folder is made, its record written and its lock held while the points run. Each finished point updates
the record (atomically) and the progress on stderr (:mod:`.progress`). A failed point does not stop the others;
Ctrl-C stops them all, cleanly, and so does SIGTERM (the CLI makes it end like Ctrl-C: :mod:`kit.running.stopping`).
``resume`` first reconciles the record with the runs that exist, then runs again the points that have no succeeded
run.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

from kit import settings
from kit.errors import SweepFailed, SweepInterrupted, SweepNotResumable
from kit.record import sweep as record
from kit.record.layout import SweepLayout
from kit.record.sweep import PointInfo, PointStatus, Sweep, SweepInfo, SweepStatus
from kit.running import Notebook
from kit.running.stopping import cause, terminated
from kit.sweeping import kubernetes
from kit.sweeping.grid import Grid
from kit.sweeping.plan import AUTO, SweepPlan, now, prepare, prepare_resume
from kit.sweeping.point import Outcome
from kit.sweeping.pool import Pool
from kit.sweeping.progress import Progress

#: Seconds between two looks at the pool (and at most between two writes of the record).
TICK = 0.5


def sweep(
    notebook: str | os.PathLike | Notebook,
    grid: Grid | dict[str, list] | None = None,
    *,
    workers: int | None = None,
    threads: int | None = None,
    timeout: float | None = None,
    runs_dir: str | os.PathLike | None = None,
    scheduler: str | None = None,
    dask_mode: str = AUTO,
    progress: bool = False,
) -> Sweep:
    """Run ``notebook`` at every point of ``grid`` (a Grid, or parameter names and their lists of values).

    Each point is an ordinary run with its own record; the sweep's record is ``RUNS/sweeps/SWEEP/sweep.json``.
    Raises KitError before anything is written for a mistake in any point; SweepFailed when points failed and
    SweepInterrupted on Ctrl-C, both after every point's record is complete. ``workers`` points run at once here
    (default: the usable CPUs), or on the Dask cluster at ``scheduler``; each with ``threads`` threads (default:
    usable CPUs / workers). ``dask_mode``: how the points' files travel to and from the cluster's workers, ``shared``
    (a volume all see), ``ship`` (sent with each point) or ``auto`` (see :mod:`.dask`). ``progress`` shows each
    finished point on stderr.
    """
    plan = prepare(notebook, grid, workers=workers, threads=threads, timeout=timeout, runs_dir=runs_dir,
                   scheduler=scheduler, dask_mode=dask_mode)  # fmt: skip
    plan, pool = _pool(plan)
    where = record.reserve(plan.runs_dir, plan.info.sweep_id)
    with record.held(where, plan.info.sweep_id):
        return execute(plan, where, pool, progress=progress)


def resume(
    ref: str | os.PathLike | Sweep,
    *,
    workers: int | None = None,
    runs_dir: str | os.PathLike | None = None,
    scheduler: str | None = None,
    dask_mode: str = AUTO,
    progress: bool = False,
) -> Sweep:
    """Run again the points of a sweep that have no succeeded run (each a new run: ``SWEEP.p03.r1``).

    The points keep the sweep's thread count and timeout, and run the notebook the sweep prepared (NotebookChanged
    when it changed since). Raises as :func:`sweep` does; SweepBusy when another process runs the sweep.
    """
    found = ref if isinstance(ref, Sweep) else record.find_sweep(ref, runs_dir)
    if found.info.status is SweepStatus.EMITTED:
        raise SweepNotResumable(
            found.id, "it was written for a Kubernetes cluster", "apply its Job again there (kubectl apply -f DIR)"
        )
    with record.held(found.layout, found.id):
        found = record.reconcile(found)  # runs a killed sweep finished without listing them
        plan = prepare_resume(found, workers=workers, scheduler=scheduler, dask_mode=dask_mode)
        if not plan.plans:
            if progress:
                _say(f"sweep {found.id}: every point has a succeeded run, nothing to resume")
            if found.info.status is not SweepStatus.SUCCEEDED:
                found = dataclasses.replace(found, info=dataclasses.replace(found.info, status=SweepStatus.SUCCEEDED))
                record.write(found.layout, found.info)
            return found
        plan, pool = _pool(plan)
        return execute(plan, found.layout, pool, progress=progress)


def emit_kubernetes(
    notebook: str | os.PathLike | Notebook,
    grid: Grid | dict[str, list] | None,
    directory: str | os.PathLike,
    *,
    workers: int | None = None,
    threads: int | None = None,
    timeout: float | None = None,
    runs_dir: str | os.PathLike | None = None,
    image: str = "kit:latest",
    claim: str = "kit-runs",
) -> kubernetes.Emitted:
    """Write the sweep as a Kubernetes Indexed Job into ``directory`` (see :mod:`.kubernetes`); run nothing.

    ``workers`` is the Job's parallelism (default: every point at once); ``threads`` every point's thread count
    (default 1); the requests are sized from the runs of the notebook recorded in ``runs_dir``.
    """
    kubernetes.check_options(image, claim)
    directory = kubernetes.check_directory(Path(directory))
    plan = prepare(notebook, grid, workers=workers, threads=threads, timeout=timeout, runs_dir=directory,
                   status=SweepStatus.EMITTED)  # fmt: skip
    return kubernetes.emit(plan.info, plan.notebook.path, directory, parallelism=plan.workers, image=image,
                           claim=claim, runs=settings.runs_dir(runs_dir))  # fmt: skip


def _pool(plan: SweepPlan) -> tuple[SweepPlan, Pool]:
    """The pool of the plan's points, and the plan: on the Dask cluster at its scheduler, else here.

    The cluster is reached and checked now; the plan's record keeps the mode it was decided to run in.
    """
    if plan.scheduler is None:
        from kit.sweeping.local import LocalPool

        return plan, LocalPool(plan)
    from kit.sweeping.dask import DaskPool

    pool = DaskPool(plan).connect()
    return dataclasses.replace(plan, info=dataclasses.replace(plan.info, dask_mode=pool.mode)), pool


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def execute(plan: SweepPlan, where: SweepLayout, pool: Pool, *, progress: bool = False) -> Sweep:
    """Run the plan's points in ``pool``, keeping the record at ``where`` (its lock held); Ctrl-C stops it cleanly."""
    info = plan.info
    record.write(where, info)
    parameters = {index: run.invocation.parameters for index, run in plan.plans.items()}
    shown = Progress(info.sweep_id, len(plan.plans), time.monotonic())
    say = _say if progress else (lambda line: None)
    say(shown.opening(info, plan.runs_dir))
    stopping, changed, written = False, False, time.monotonic()
    with pool:
        while not pool.done:
            try:
                for outcome in pool.poll(TICK):
                    info = info.with_point(_updated(info.points[outcome.index], outcome))
                    shown = shown.add(outcome, pool.running)
                    if outcome.status is not PointStatus.PENDING:
                        say(shown.line(outcome, parameters.get(outcome.index, {})))
                    changed = True
                if changed and time.monotonic() - written >= TICK:
                    record.write(where, info)
                    changed, written = False, time.monotonic()
            except KeyboardInterrupt:
                if not stopping:
                    stopping = True
                    pool.stop()
                    say(
                        f"stopping: {pool.running} running points are being recorded as interrupted "
                        f"({cause().split(' (')[0]})"
                    )
    info = dataclasses.replace(info, status=_status(info, stopping), ended=now())
    record.write(where, info)
    say(shown.closing(info))
    found = Sweep(where.root, info, plan.runs_dir)
    _raise_for(found, stopping)
    return found


def _updated(point: PointInfo, outcome: Outcome) -> PointInfo:
    runs = point.runs
    if outcome.run_id and outcome.run_id not in runs:
        runs = (*runs, outcome.run_id)
    return dataclasses.replace(point, runs=runs, status=outcome.status, message=outcome.message)


def _failed(info: SweepInfo) -> list[PointInfo]:
    return [point for point in info.points if point.status.finished and point.status is not PointStatus.SUCCEEDED]


def _status(info: SweepInfo, stopping: bool) -> SweepStatus:
    if stopping:
        return SweepStatus.INTERRUPTED
    return SweepStatus.FAILED if _failed(info) else SweepStatus.SUCCEEDED


def _raise_for(found: Sweep, stopping: bool) -> None:
    info = found.info
    if stopping:
        finished = sum(point.status.finished and point.status is not PointStatus.INTERRUPTED for point in info.points)
        raise SweepInterrupted(info.sweep_id, found.path, finished, len(info.points), terminated())
    failed = _failed(info)
    if failed:
        failures = [(point.index, point.parameters) for point in failed]
        raise SweepFailed(info.sweep_id, found.path, failures, len(info.points))
