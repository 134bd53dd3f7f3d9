"""The run engine: validate, execute with papermill, and leave a complete run record, whatever happens.

A run is written into a hidden directory (``runs/.ID.partial``) and renamed to ``runs/ID`` once every file of
its record is there, so a crash never leaves a half-written run that looks complete, and runs started at the
same time in the same runs directory each keep their own record. ``run`` is a plain function with no global
state: a sweep can call it many times in parallel.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kit import __version__, artifacts, params, settings
from kit.env import environment
from kit.errors import Interrupted, KitError, RunFailed
from kit.record import Run, read_json, write_json
from kit.threads import Threads, choose

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Replay:
    """What ``kit verify`` carries over from the run it re-executes, instead of choosing it afresh."""

    threads: Threads
    hash_seed: str
    cwd: Path | None = None
    of: str | None = None
    notebook: str | None = None


@dataclass
class _Partial:
    """A run being written: where, since when, with what."""

    path: Path
    final: Path
    started: float = field(default_factory=time.time)


def new_run_id(notebook: Path) -> str:
    """A sortable, collision-free id: ``20261122-101530-train_tabular-3f9a``."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", notebook.stem).strip("-") or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}-{secrets.token_hex(2)}"


def _reserve(runs: Path, run_id: str) -> _Partial:
    if not RUN_ID.fullmatch(run_id) or run_id == settings.SCRATCH:
        raise KitError(f"run id {run_id!r} is not allowed: use letters, digits, '.', '_' and '-' (not 'scratch')")
    final = runs / run_id
    taken = f"run id {run_id!r} is taken in {runs}: pass another --run-id (a run is never overwritten)"
    if final.exists():
        raise KitError(taken)
    runs.mkdir(parents=True, exist_ok=True)
    partial = runs / f"{settings.PARTIAL_PREFIX}{run_id}{settings.PARTIAL_SUFFIX}"
    try:
        partial.mkdir()
    except FileExistsError:
        raise KitError(taken) from None
    return _Partial(partial.resolve(), final)


def _kernel_manager_class(env: dict[str, str], log: Path):
    """A kernel manager that starts the kernel with ``env`` added to this process's environment.

    The kernel's own stderr (TensorFlow's C++ logging, a crash) goes to ``log`` in the run, not the terminal.
    """
    from jupyter_client.manager import AsyncKernelManager

    class RunKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            with open(log, "ab") as stream:
                return await super().start_kernel(stdout=stream, stderr=stream, **kw)

    return RunKernelManager


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def _failure(error: BaseException, notebook: Path) -> dict:
    """Where and how the run failed; ``cell_index`` is papermill's: the cell's index, parameters cell injected."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(error, PapermillExecutionError):
        return {
            "cell_index": error.cell_index,
            "execution_count": error.exec_count,
            "ename": error.ename,
            "evalue": error.evalue,
        }
    # A timeout or a dead kernel: the failing cell is the last one papermill started.
    started = [None, None]
    cells = read_json(notebook, {}).get("cells", [])
    banner = "papermill-error-cell-tag"
    for index, cell in enumerate(cell for cell in cells if banner not in cell.get("metadata", {}).get("tags", [])):
        if cell.get("metadata", {}).get("papermill", {}).get("status") in ("running", "completed", "failed"):
            started = [index, cell.get("execution_count")]
    return {
        "cell_index": started[0],
        "execution_count": started[1],
        "ename": type(error).__name__,
        "evalue": str(error),
    }


def _finish(partial: _Partial, status: dict, env: dict, threads: Threads, hash_seed: str) -> Path:
    """Complete the record in the hidden directory, then give it its id in one rename."""
    path = partial.path
    (path / settings.ARTIFACTS).mkdir(exist_ok=True)
    if not (path / settings.METRICS).exists():
        write_json(path / settings.METRICS, {})
    write_json(path / settings.MANIFEST, artifacts.manifest(path / settings.ARTIFACTS))
    seeded = read_json(path / settings.SEEDED)
    (path / settings.SEEDED).unlink(missing_ok=True)
    env = {**env, "threads": threads.to_dict(), "hash_seed": hash_seed, "seed": seeded}
    write_json(path / settings.ENVIRONMENT, env)
    ended = time.time()
    status.update(ended=_iso(ended), duration_s=round(ended - partial.started, 3))
    write_json(path / settings.STATUS, status)
    os.rename(path, partial.final)  # fails, keeping the hidden directory, if the id was taken meanwhile
    return partial.final


def run(
    notebook: str | os.PathLike,
    parameters: dict[str, Any] | None = None,
    *,
    runs_dir: str | os.PathLike | None = None,
    run_id: str | None = None,
    timeout: float | None = None,
    threads: int | None = None,
    progress: bool = False,
    from_text: frozenset[str] = frozenset(),
    replay: Replay | None = None,
) -> Run:
    """Execute ``notebook`` with ``parameters`` and record the run; return it.

    Raises KitError before anything is written for a mistake (see :func:`kit.params.resolve`), RunFailed when
    the notebook raises or a cell takes longer than ``timeout`` seconds, Interrupted on Ctrl-C; both after the
    record is complete. ``threads`` fixes the thread counts (default: the container's CPU quota).
    """
    import papermill

    notebook = Path(notebook)
    given = parameters or {}
    resolved = params.resolve(notebook, given, from_text)
    coerced = {name: resolved[name] for name in given}
    chosen = replay.threads if replay else choose(threads)
    seed = resolved.get("seed")
    hash_seed = replay.hash_seed if replay else str(seed if isinstance(seed, int) and seed >= 0 else 0)
    cwd = replay.cwd if replay and replay.cwd else notebook.resolve().parent
    env = environment(cwd)

    runs = settings.runs_dir(runs_dir)
    partial = _reserve(runs, run_id or new_run_id(notebook))
    write_json(partial.path / settings.PARAMS, resolved)
    status = {
        "status": "running",
        "run_id": partial.final.name,
        "notebook": replay.notebook if replay and replay.notebook else str(notebook),
        "notebook_path": str(notebook.resolve()),
        "started": _iso(partial.started),
        "invocation": {"parameters": coerced, "timeout": timeout, "cwd": str(cwd), "verifies": replay and replay.of},
        "kit": __version__,
    }
    kernel_env = {
        **chosen.variables(),
        "PYTHONHASHSEED": hash_seed,
        settings.RUN_DIR_ENV: str(partial.path),
        settings.RUNS_DIR_ENV: str(runs.resolve()),  # kit.find_run in the kernel looks where this run goes
        settings.RUN_ID_ENV: partial.final.name,
    }
    try:
        papermill.execute_notebook(
            str(notebook),
            str(partial.path / settings.NOTEBOOK),
            parameters=coerced,
            progress_bar=progress,
            execution_timeout=timeout,
            request_save_on_cell_execute=True,
            kernel_manager_class=_kernel_manager_class(kernel_env, partial.path / settings.KERNEL_LOG),
            resources={"metadata": {"path": str(cwd)}},
            # The kernel listens on localhost only; its warning about unencrypted TCP is noise in a batch run.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except KeyboardInterrupt:
        status.update(status="interrupted", failure={"cell_index": None, "ename": "KeyboardInterrupt", "evalue": ""})
        raise Interrupted(_finish(partial, status, env, chosen, hash_seed)) from None
    except Exception as error:  # the notebook raised, a cell timed out, or the kernel died: all are recorded
        status.update(status="failed", failure=_failure(error, partial.path / settings.NOTEBOOK))
        raise RunFailed(_finish(partial, status, env, chosen, hash_seed), status["failure"]) from None
    status.update(status="succeeded", failure=None)
    return Run(_finish(partial, status, env, chosen, hash_seed))
