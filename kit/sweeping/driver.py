"""A sweep from start to end: prepare every point, write the sweep record, run the points, keep the record.

Every point is prepared (:func:`kit.running.prepare`) before anything is written: a mistake in any point is one
:class:`kit.errors.PointError`, and nothing exists. Then the sweep's folder is made, its record written and its
lock held, and the points run in a pool (:mod:`.local`, or :mod:`.dask` with a scheduler). Each finished point
updates the record (atomically) and the progress on stderr. A failed point does not stop the others; Ctrl-C stops
them all, cleanly. ``resume`` runs again the points of a sweep that have no succeeded run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kit import __version__, settings
from kit.errors import (
    GridError,
    KitError,
    NotebookChanged,
    OptionError,
    PointError,
    SweepFailed,
    SweepInterrupted,
    SweepNotResumable,
    UnknownParameter,
    shown,
)
from kit.record.layout import SweepLayout
from kit.record.schema import Threads
from kit.record.store import check_runs_dir
from kit.running import Notebook, Plan, prepare
from kit.running import notebook as notebooks
from kit.running.plan import check_timeout
from kit.running.threads import choose, usable_cpus
from kit.sweeping import record
from kit.sweeping.grid import Grid, axis
from kit.sweeping.point import Job, Outcome
from kit.sweeping.record import PointInfo, PointStatus, Sweep, SweepInfo, SweepStatus

#: More workers than this on one machine is a typo.
MAX_WORKERS = 256
#: Seconds between two looks at the pool (and at most between two writes of the record).
TICK = 0.5


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _workers(workers: Any, scheduler: str | None, points: int) -> int | None:
    if scheduler is not None:
        if workers is not None:
            raise OptionError(
                "workers", "--workers is for sweeps on this machine: a Dask cluster runs as many points as its "
                "workers have threads (leave --workers out)"
            )  # fmt: skip
        return None
    if workers is None:
        return max(1, min(usable_cpus(), points))
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise OptionError(
            "workers", f"--workers must be a whole number from 1 to {MAX_WORKERS}, not {shown(workers)}: e.g. 2"
        )
    return min(workers, points)


def choose_threads(threads: int | None, workers: int | None) -> Threads:
    """Every point's thread counts: ``threads``, else ``$KIT_THREADS``, else usable CPUs / workers (at least 1).

    On a Dask cluster (``workers`` None) the default is 1: start one single-threaded worker per CPU.
    """
    if threads is not None or os.environ.get(settings.THREADS_ENV, "").strip():
        return choose(threads)
    if workers is None:
        return Threads(1, 1, "dask-default")
    count = max(1, usable_cpus() // workers)
    return Threads(count, count, "cpu-quota/workers")


def _check_names(notebook: Notebook, grid: Grid) -> None:
    for name in grid.names():
        if name not in notebook.parameters:
            raise UnknownParameter(name, notebook.path, list(notebook.parameters))


def _plans(notebook: Notebook, points: list[dict], run_ids: list[str], runs: Path, timeout, threads) -> list[Plan]:
    """Every point prepared, or the first mistake as a PointError naming the point; then no two alike."""
    plans, seen = [], {}
    for index, (parameters, run_id) in enumerate(zip(points, run_ids, strict=True)):
        try:
            plan = prepare(notebook, parameters, runs_dir=runs, run_id=run_id, timeout=timeout, threads=threads)
        except KitError as error:
            raise PointError(index, parameters, error) from None
        key = json.dumps(plan.params, sort_keys=True)
        if key in seen:
            raise GridError(f"points {seen[key]} and {index} are the same ({_brief(parameters)}): give each point once")
        seen[key] = index
        plans.append(dataclasses.replace(plan, retryable=True))
    return plans


def _brief(parameters: dict) -> str:
    text = ", ".join(f"{name}={shown(value, 24)}" for name, value in parameters.items()) or "the defaults"
    return text if len(text) <= 80 else text[:79] + "…"


def sweep(
    notebook: str | os.PathLike | Notebook,
    grid: Grid | dict[str, list] | None = None,
    *,
    workers: int | None = None,
    threads: int | None = None,
    timeout: float | None = None,
    runs_dir: str | os.PathLike | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> Sweep:
    """Run ``notebook`` at every point of ``grid`` (a Grid, or parameter names and their lists of values).

    Each point is an ordinary run with its own record; the sweep's record is ``RUNS/sweeps/SWEEP/sweep.json``.
    Raises KitError before anything is written for a mistake in any point; SweepFailed when points failed and
    SweepInterrupted on Ctrl-C, both after every point's record is complete. ``workers`` points run at once here
    (default: the usable CPUs), or on the Dask cluster at ``scheduler``; each with ``threads`` threads (default:
    usable CPUs / workers). ``progress`` shows each finished point on stderr.
    """
    notebook, grid, points = _expanded(notebook, grid)
    workers = _workers(workers, scheduler, len(points))
    runs = check_runs_dir(settings.runs_dir(runs_dir))
    info, plans = _prepared(notebook, grid, points, runs, workers, choose_threads(threads, workers), timeout)
    info = dataclasses.replace(info, scheduler=scheduler)
    pool = _pool(info, info.points, plans, runs, workers, scheduler)  # a scheduler answers before anything is written
    where = record.reserve(runs, info.sweep_id)
    with record.held(where, info.sweep_id):
        record.write(where, info)
        return _drive(where, info, runs, pool, dict(enumerate(points)), progress)


def _expanded(notebook: str | os.PathLike | Notebook, grid: Grid | dict | None) -> tuple[Notebook, Grid, list[dict]]:
    notebook = notebook if isinstance(notebook, Notebook) else notebooks.load(notebook)
    if not isinstance(grid, Grid):
        grid = Grid(axes={name: axis(name, list(values) if isinstance(values, list | tuple) else values)
                          for name, values in (grid or {}).items()})  # fmt: skip
    _check_names(notebook, grid)
    return notebook, grid, grid.expand()


def _prepared(notebook: Notebook, grid: Grid, points: list[dict], runs: Path, workers: int | None, threads: Threads,
              timeout: Any, status: SweepStatus = SweepStatus.RUNNING) -> tuple[SweepInfo, list[Plan]]:  # fmt: skip
    """The sweep's record as it starts, and every point's plan (each checked: PointError names the first mistake)."""
    timeout = check_timeout(timeout)
    sweep_id = record.new_sweep_id(notebook.path.stem)
    ids = [record.point_run_id(sweep_id, index, len(points)) for index in range(len(points))]
    plans = _plans(notebook, points, ids, runs, timeout, threads)
    info = SweepInfo(
        sweep_id=sweep_id,
        status=status,
        notebook=str(notebook.path),
        notebook_path=str(notebook.path.resolve()),
        notebook_sha256=record.sha256(notebook.path),
        grid=grid.to_dict(),
        swept=tuple(grid.swept()),
        threads=threads,
        timeout=timeout,
        workers=workers,
        scheduler=None,
        started=_now(),
        kit=__version__,
        points=tuple(PointInfo(index, plan.invocation.parameters, (plan.run_id,)) for index, plan in enumerate(plans)),
    )
    return info, plans


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
) -> list[Path]:
    """Write the sweep as a Kubernetes Indexed Job into ``directory`` (see :mod:`.kubernetes`); run nothing.

    ``workers`` is the Job's parallelism (default: every point at once); ``threads`` every point's thread count
    (default 1); the requests are sized from the runs of the notebook recorded in ``runs_dir``.
    """
    from kit.sweeping import kubernetes

    notebook, grid, points = _expanded(notebook, grid)
    parallelism = _workers(workers, None, len(points)) if workers is not None else len(points)
    directory = kubernetes.check_directory(Path(directory))
    info, _ = _prepared(notebook, grid, points, directory, parallelism, choose_threads(threads, None), timeout,
                        SweepStatus.EMITTED)  # fmt: skip
    return kubernetes.emit(info, notebook.path, directory, parallelism=parallelism, image=image, claim=claim,
                           runs=settings.runs_dir(runs_dir))  # fmt: skip


def _pool(info: SweepInfo, points, plans: list[Plan], runs: Path, workers: int | None, scheduler: str | None):
    """The pool that runs ``plans`` (those of ``points``): here, or on the Dask cluster at ``scheduler``."""
    if scheduler is None:
        from kit.sweeping.local import LocalPool

        return LocalPool({point.index: plan for point, plan in zip(points, plans, strict=True)}, workers)
    from kit.sweeping.dask import DaskPool

    jobs = [_job(info, point, plan, runs) for point, plan in zip(points, plans, strict=True)]
    return DaskPool(jobs, scheduler).connect()


def _job(info: SweepInfo, point: PointInfo, plan: Plan, runs: Path) -> Job:
    return Job(point.index, info.notebook_path, info.notebook_sha256, plan.invocation.parameters, plan.run_id,
               info.threads.to_dict(), info.timeout, str(runs.resolve()))  # fmt: skip


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _drive(where: SweepLayout, info: SweepInfo, runs: Path, pool, parameters: dict[int, dict], progress: bool) -> Sweep:
    """Run the pool to its end, keeping the record and the progress; Ctrl-C stops it cleanly."""
    from kit.display.sweep import Progress

    todo = [point.index for point in info.points if point.status is PointStatus.PENDING]
    shown_progress = Progress(info.sweep_id, len(todo), time.monotonic())
    say: Callable[[str], None] = _say if progress else (lambda line: None)
    say(shown_progress.opening(info, runs))
    stopping, changed, written = False, False, time.monotonic()
    with pool:
        while not pool.done:
            try:
                for outcome in pool.poll(TICK):
                    info = info.with_point(_updated(info.points[outcome.index], outcome))
                    shown_progress = shown_progress.add(outcome, pool.running)
                    if outcome.status is not PointStatus.PENDING:
                        say(shown_progress.line(outcome, parameters.get(outcome.index, {})))
                    changed = True
                if changed and time.monotonic() - written >= TICK:
                    record.write(where, info)
                    changed, written = False, time.monotonic()
            except KeyboardInterrupt:
                if not stopping:
                    stopping = True
                    pool.stop()
                    say(f"stopping: {pool.running} running points are being recorded as interrupted (Ctrl-C)")
    info = dataclasses.replace(info, status=_status(info, stopping), ended=_now())
    record.write(where, info)
    say(shown_progress.closing(info))
    found = Sweep(where.root, info, runs)
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
        raise SweepInterrupted(info.sweep_id, found.path, finished, len(info.points))
    failed = _failed(info)
    if failed:
        failures = [(point.index, point.parameters) for point in failed]
        raise SweepFailed(info.sweep_id, found.path, failures, len(info.points))


def resume(
    ref: str | os.PathLike | Sweep,
    *,
    workers: int | None = None,
    runs_dir: str | os.PathLike | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> Sweep:
    """Run again the points of a sweep that have no succeeded run (each a new run: ``SWEEP.p03.r1``).

    The points keep the sweep's thread count and timeout, and run the notebook the sweep prepared (NotebookChanged
    when it changed since). Raises as :func:`sweep` does; SweepBusy when another process runs the sweep.
    """
    found = ref if isinstance(ref, Sweep) else record.find_sweep(ref, runs_dir)
    info = found.info
    if info.status is SweepStatus.EMITTED:
        raise SweepNotResumable(
            info.sweep_id, "it was written for a Kubernetes cluster", "apply its Job again there (kubectl apply -f DIR)"
        )
    where = found.layout
    with record.held(where, info.sweep_id):
        notebook = notebooks.load(info.notebook_path)
        if record.sha256(notebook.path) != info.notebook_sha256:
            raise NotebookChanged(notebook.path, "changed since the sweep prepared it (its points would differ)")
        todo = [point for point in info.points if not found.succeeded(point)]
        if not todo:
            if progress:
                _say(f"sweep {info.sweep_id}: every point has a succeeded run, nothing to resume")
            return found
        workers = _workers(workers, scheduler, len(todo))
        ids = [_next_run_id(found, point) for point in todo]
        try:
            plans = _plans(notebook, [point.parameters for point in todo], ids, found.runs_dir, info.timeout,
                           info.threads)  # fmt: skip
        except PointError as error:  # numbered as in the sweep, not in this list
            raise PointError(todo[error.index].index, error.parameters, error.error) from None
        pending = [dataclasses.replace(point, runs=_with(point.runs, run_id), status=PointStatus.PENDING, message=None)
                   for point, run_id in zip(todo, ids, strict=True)]  # fmt: skip
        for point in pending:
            info = info.with_point(point)
        info = dataclasses.replace(info, status=SweepStatus.RUNNING, ended=None, workers=workers, scheduler=scheduler)
        pool = _pool(info, pending, plans, found.runs_dir, workers, scheduler)
        record.write(where, info)
        return _drive(where, info, found.runs_dir, pool, {p.index: p.parameters for p in pending}, progress)


def _with(runs: tuple[str, ...], run_id: str) -> tuple[str, ...]:
    return runs if run_id in runs else (*runs, run_id)


def _next_run_id(found: Sweep, point: PointInfo) -> str:
    """The point's last run id if no record took it (a run never started, or its machine died), else a new one."""
    if point.runs and not (found.runs_dir / point.runs[-1]).exists():
        return point.runs[-1]
    return record.point_run_id(found.id, point.index, len(found.info.points), len(point.runs))
