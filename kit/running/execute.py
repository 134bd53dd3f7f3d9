"""Executing a prepared run with papermill, and leaving a complete record whatever happens.

The record is written in a hidden directory reserved for the run (:mod:`kit.record.store`) and published under
its id once complete. Whatever goes wrong after that point (the notebook raises, a cell times out, the kernel
dies, Ctrl-C, an artifact the notebook made unreadable) ends as a visible, complete record whose status.json
says what happened. ``execute`` has no global state (no chdir; the environment goes to its own kernel only), so
a sweep can call it from many threads or processes at once.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kit import __version__, settings
from kit.errors import Interrupted, RunFailed
from kit.record import Failure, Run, RunInfo, RunStatus, manifest, schema, store
from kit.record.jsonfile import read_json, write_json
from kit.record.layout import RunLayout
from kit.running.environment import environment
from kit.running.plan import Plan, kernel_timeout

#: The longest error message kept in status.json (the notebook keeps the whole traceback).
MAX_EVALUE = 10_000


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def _unformatted(path: Path) -> str:
    """A path papermill will not change: it formats paths with the parameters (``{seed}``), so braces are doubled."""
    return str(path).replace("{", "{{").replace("}", "}}")


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


def _last_started(notebook: Path) -> tuple[int | None, int | None]:
    """The index and execution count of the last cell papermill started, from the notebook it saved so far."""
    started: tuple[int | None, int | None] = (None, None)
    try:
        cells = [cell for cell in read_json(notebook)["cells"] if "papermill-error-cell-tag" not in _tags(cell)]
        for index, cell in enumerate(cells):
            if cell["metadata"].get("papermill", {}).get("status") in ("running", "completed", "failed"):
                started = (index, cell.get("execution_count"))
    except (OSError, ValueError, LookupError, TypeError, AttributeError):  # not saved yet, or not a notebook
        pass
    return started


def _tags(cell: dict) -> list:
    return cell.get("metadata", {}).get("tags", [])


def _failure(error: BaseException, replies: dict[int, dict], notebook: Path) -> Failure:
    """Where and how the run failed: the kernel's own error name and message whenever it sent one."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(error, PapermillExecutionError):
        reply = replies.get(error.cell_index, {})  # papermill says CellExecutionError where no output shows it
        ename = reply.get("ename") or error.ename
        evalue = reply.get("evalue") if reply.get("ename") else error.evalue
        return Failure(ename, (evalue or "")[:MAX_EVALUE], error.cell_index, error.exec_count)
    index, count = _last_started(notebook)  # a timeout or a dead kernel: the cell that was running
    return Failure(type(error).__name__, str(error)[:MAX_EVALUE], index, count)


class _CheckedNames(logging.Filter):
    """Drops papermill's "Passed unknown parameter" warnings: kit checked every name against the notebook itself.

    papermill's own reader of the parameters cell misses some, such as ``limit: int | None = None``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Passed unknown parameter")


def _papermill(plan: Plan, record: RunLayout, run_id: str, progress: bool) -> None:
    import papermill

    papermill_log = logging.getLogger("papermill")
    if not any(isinstance(existing, _CheckedNames) for existing in papermill_log.filters):
        papermill_log.addFilter(_CheckedNames())

    replies: dict[int, dict] = {}

    def on_cell_error(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply.get("content", {})

    kernel_env = {
        **plan.invocation.threads.variables(),
        "PYTHONHASHSEED": plan.invocation.hash_seed,
        **settings.kernel_variables(record.root, plan.runs_dir, run_id),
    }
    try:
        papermill.execute_notebook(
            _unformatted(plan.notebook.path),
            _unformatted(record.notebook),
            parameters=plan.invocation.parameters,
            kernel_name=plan.invocation.kernel,
            language=plan.notebook.language,
            progress_bar=progress,
            execution_timeout=kernel_timeout(plan.invocation),
            request_save_on_cell_execute=True,
            kernel_manager_class=_kernel_manager_class(kernel_env, record.kernel_log),
            resources={"metadata": {"path": plan.invocation.cwd}},
            # The kernel listens on localhost only; its warning about unencrypted TCP is noise in a batch run.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            on_cell_error=on_cell_error,
        )
    except Exception as error:
        error.kit_failure = _failure(error, replies, record.notebook)
        raise


def _complete(record: RunLayout, plan: Plan, env: dict[str, Any]) -> list[str]:
    """Write every file the record still lacks; return what could not be done right (the run then failed)."""
    problems = []
    os.chmod(record.root, 0o755)  # a notebook that took its own write permission does not stop its record
    try:
        notebook = read_json(record.notebook)
        if not isinstance(notebook, dict) or "cells" not in notebook:
            raise ValueError("is not a notebook")
    except (OSError, ValueError) as error:
        problems.append(f"the executed notebook was not saved ({error}): notebook.ipynb is the notebook as given")
        write_json(record.notebook, plan.notebook.node)
    record.artifacts.mkdir(exist_ok=True)
    try:
        schema.check_metrics(read_json(record.metrics))
    except FileNotFoundError:
        write_json(record.metrics, {})
    except (OSError, ValueError) as error:
        problems.append(f"metrics.json was damaged in the run ({error}): replaced by {{}}")
        write_json(record.metrics, {})
    entries, unreadable = manifest.manifest(record.artifacts)
    problems += unreadable
    write_json(record.manifest, entries)
    try:
        seeded = read_json(record.seeded)
    except FileNotFoundError:
        seeded = None
    except (OSError, ValueError) as error:
        seeded = None
        problems.append(f"kit.seed_everything's note was damaged ({error})")
    record.seeded.unlink(missing_ok=True)
    invocation = plan.invocation
    write_json(
        record.environment,
        {**env, "threads": invocation.threads.to_dict(), "hash_seed": invocation.hash_seed, "seed": seeded},
    )
    record.kernel_log.touch()
    return problems


def execute(plan: Plan, *, progress: bool = False) -> Run:
    """Run the plan and record it; return the run.

    Raises RunFailed when the notebook raises, a cell takes longer than the timeout, the kernel dies or the record
    could not be completed as it should, and Interrupted on Ctrl-C: both after the record is complete and visible.
    Raises RunIdTaken or RunsDirError, with nothing written, when the record cannot be started.
    """
    env = environment(plan.invocation.cwd)
    reservation = store.reserve(plan.runs_dir, plan.run_id, plan.notebook.path.stem)
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
    status, failure = RunStatus.SUCCEEDED, None
    try:
        write_json(record.params, plan.params)
        write_json(record.status, info.to_dict())
        _papermill(plan, record, reservation.run_id, progress)
    except KeyboardInterrupt:
        status, failure = RunStatus.INTERRUPTED, Failure("KeyboardInterrupt", "", *_last_started(record.notebook))
    except Exception as error:  # the notebook raised, a cell timed out, the kernel died: all are recorded
        status = RunStatus.FAILED
        failure = getattr(error, "kit_failure", None) or Failure(type(error).__name__, str(error)[:MAX_EVALUE])
    problems = _complete(record, plan, env)
    if problems and failure is None:
        status, failure = RunStatus.FAILED, Failure("RecordError", "; ".join(problems)[:MAX_EVALUE])
    ended = time.time()
    info = dataclasses.replace(
        info,
        status=status,
        failure=failure,
        ended=_iso(ended),
        duration_s=round(ended - reservation.started, 3),
        record_problems=tuple(problems),
    )
    write_json(record.status, info.to_dict())
    run = Run.open(reservation.publish())
    if status is RunStatus.INTERRUPTED:
        raise Interrupted(run.path)
    if failure is not None:
        raise RunFailed(run.path, failure)
    return run
