"""Preparing a sweep: every point checked and decided, nothing written. :mod:`.driver` runs the plan.

:func:`prepare` expands the grid, checks every name against the notebook and prepares every point
(:func:`kit.running.prepare`): a mistake in any point is one :class:`kit.errors.PointError` naming it, before any
file exists. :func:`prepare_resume` prepares again the points of a recorded sweep that have no succeeded run.
Either gives a :class:`SweepPlan`, as :func:`kit.running.prepare` gives a run's :class:`kit.running.Plan`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kit import settings
from kit.errors import GridError, KitError, NotebookChanged, OptionError, PointError, UnknownParameter
from kit.record import sweep as record
from kit.record.hashing import sha256
from kit.record.schema import Threads
from kit.record.store import check_runs_dir
from kit.record.sweep import PointInfo, PointStatus, Sweep, SweepInfo, SweepStatus
from kit.running import Notebook, Plan
from kit.running import notebook as notebooks
from kit.running import prepare as prepare_run
from kit.running.plan import check_timeout
from kit.running.threads import choose, usable_cpus
from kit.shorten import brief, shown
from kit.sweeping.grid import Grid, axis
from kit.version import __version__

#: More workers than this on one machine is a typo.
MAX_WORKERS = 256
#: How a Dask sweep's files travel (:mod:`.dask`): a shared volume, shipped with each point, or found out.
AUTO, SHARED, SHIP = "auto", "shared", "ship"
DASK_MODES = (AUTO, SHARED, SHIP)


@dataclass(frozen=True)
class SweepPlan:
    """A sweep, prepared: its record as it starts, and the plan of every point to run, by index."""

    info: SweepInfo
    #: The points to run: all of a new sweep's, or those of a resumed sweep without a succeeded run.
    plans: dict[int, Plan]
    runs_dir: Path
    #: The notebook the points run (the sweep's record names it too, with its sha256).
    notebook: Notebook

    @property
    def workers(self) -> int | None:
        """Points at once on this machine; None on a Dask cluster (its workers' threads decide)."""
        return self.info.workers

    @property
    def scheduler(self) -> str | None:
        return self.info.scheduler


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def check_workers(workers: Any, scheduler: str | None, points: int) -> int | None:
    """How many points run at once here: ``workers`` checked (at most one per point), else the usable CPUs."""
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


def check_dask_mode(mode: Any, scheduler: str | None) -> str | None:
    """The Dask mode asked for (None without a scheduler); OptionError for a mode that is not one."""
    if mode not in DASK_MODES:
        raise OptionError("dask-mode", f"--dask-mode is one of {', '.join(DASK_MODES)}, not {shown(mode)}")
    if scheduler is None:
        if mode != AUTO:
            raise OptionError("dask-mode", "--dask-mode goes with --scheduler: leave it out for a sweep here")
        return None
    return mode


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


def expand(notebook: str | os.PathLike | Notebook, grid: Grid | dict | None) -> tuple[Notebook, Grid, list[dict]]:
    """The notebook loaded, the grid (from parameter names and their lists of values, if not a Grid), its points."""
    notebook = notebook if isinstance(notebook, Notebook) else notebooks.load(notebook)
    if not isinstance(grid, Grid):
        grid = Grid(axes={name: axis(name, list(values) if isinstance(values, list | tuple) else values)
                          for name, values in (grid or {}).items()})  # fmt: skip
    for name in grid.names():
        if name not in notebook.parameters:
            raise UnknownParameter(name, notebook.path, list(notebook.parameters))
    return notebook, grid, grid.expand()


def prepare_points(notebook: Notebook, points: dict[int, dict], run_ids: dict[int, str], runs: Path,
                   timeout: float | None, threads: Threads) -> dict[int, Plan]:  # fmt: skip
    """Every point prepared (retryable: see :mod:`.point`), or the first mistake as a PointError; no two alike."""
    plans, seen = {}, {}
    for index, parameters in points.items():
        try:
            plan = prepare_run(notebook, parameters, runs_dir=runs, run_id=run_ids[index], timeout=timeout,
                               threads=threads)  # fmt: skip
        except KitError as error:
            raise PointError(index, parameters, error) from None
        key = json.dumps(plan.params, sort_keys=True)
        if key in seen:
            raise GridError(f"points {seen[key]} and {index} are the same ({brief(parameters)}): give each point once")
        seen[key] = index
        plans[index] = dataclasses.replace(plan, retryable=True)
    return plans


def prepare(
    notebook: str | os.PathLike | Notebook,
    grid: Grid | dict[str, list] | None = None,
    *,
    workers: int | None = None,
    threads: int | None = None,
    timeout: float | None = None,
    runs_dir: str | os.PathLike | None = None,
    scheduler: str | None = None,
    dask_mode: str = AUTO,
    status: SweepStatus = SweepStatus.RUNNING,
) -> SweepPlan:
    """Check everything about a sweep (see :func:`kit.sweeping.sweep`); raise KitError for any mistake.

    ``status`` EMITTED prepares it for a Kubernetes cluster: ``workers`` is then the Job's parallelism (default:
    every point at once) and each point gets one thread unless told.
    """
    notebook, grid, points = expand(notebook, grid)
    dask_mode = check_dask_mode(dask_mode, scheduler)
    if status is SweepStatus.EMITTED:  # a Kubernetes Job: every point at once and one thread each, unless told
        workers = check_workers(workers, None, len(points)) if workers is not None else len(points)
        threads = choose_threads(threads, None)
    else:
        workers = check_workers(workers, scheduler, len(points))
        threads = choose_threads(threads, workers)
    runs = check_runs_dir(settings.runs_dir(runs_dir))
    timeout = check_timeout(timeout)
    sweep_id = record.new_sweep_id(notebook.path.stem)
    ids = {index: record.point_run_id(sweep_id, index, len(points)) for index in range(len(points))}
    plans = prepare_points(notebook, dict(enumerate(points)), ids, runs, timeout, threads)
    info = SweepInfo(
        sweep_id=sweep_id,
        status=status,
        notebook=str(notebook.path),
        notebook_path=str(notebook.path.resolve()),
        notebook_sha256=sha256(notebook.path),
        grid=grid.to_dict(),
        swept=tuple(grid.swept()),
        threads=threads,
        timeout=timeout,
        workers=workers,
        scheduler=scheduler,
        dask_mode=dask_mode,
        started=now(),
        kit=__version__,
        points=tuple(PointInfo(index, plan.invocation.parameters, (plan.run_id,)) for index, plan in plans.items()),
    )
    return SweepPlan(info, plans, runs, notebook)


def prepare_resume(found: Sweep, *, workers: int | None = None, scheduler: str | None = None,
                   dask_mode: str = AUTO) -> SweepPlan:  # fmt: skip
    """The points of ``found`` that have no succeeded run, prepared again (each a new run: ``SWEEP.p03.r1``).

    They keep the sweep's thread count and timeout and run the notebook the sweep prepared (NotebookChanged when it
    changed since), on the Dask scheduler the sweep ran on unless ``workers`` (here) or another ``scheduler`` is
    given (``dask_mode`` as for a new sweep). The plan's record lists them pending again; it may have no point to run.
    """
    info = found.info
    if scheduler is None and workers is None:
        scheduler = info.scheduler
    dask_mode = check_dask_mode(dask_mode, scheduler)
    notebook = notebooks.load(info.notebook_path)
    if sha256(notebook.path) != info.notebook_sha256:
        raise NotebookChanged(notebook.path, "changed since the sweep prepared it (its points would differ)")
    todo = {point.index: point for point in info.points if not found.succeeded(point)}
    workers = check_workers(workers, scheduler, len(todo)) if todo else None
    ids = {index: _next_run_id(found, point) for index, point in todo.items()}
    parameters = {index: point.parameters for index, point in todo.items()}
    plans = prepare_points(notebook, parameters, ids, found.runs_dir, info.timeout, info.threads)
    for index, point in todo.items():
        runs = point.runs if ids[index] in point.runs else (*point.runs, ids[index])
        info = info.with_point(dataclasses.replace(point, runs=runs, status=PointStatus.PENDING, message=None))
    info = dataclasses.replace(info, status=SweepStatus.RUNNING, ended=None, workers=workers, scheduler=scheduler,
                               dask_mode=dask_mode)  # fmt: skip
    return SweepPlan(info, plans, found.runs_dir, notebook)


def _next_run_id(found: Sweep, point: PointInfo) -> str:
    """The point's last run id if no record took it (a run never started, or its machine died), else a new one."""
    if point.runs and not (found.runs_dir / point.runs[-1]).exists():
        return point.runs[-1]
    return record.point_run_id(found.id, point.index, len(found.info.points), len(point.runs))
