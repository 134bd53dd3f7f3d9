"""Executing a prepared run with papermill, and leaving a complete record whatever happens.

The record is written in a hidden directory reserved for the run (:mod:`kit.record.store`) and published under
its id once complete. Whatever goes wrong after that point (the notebook raises, a cell times out, the kernel
dies, Ctrl-C, an artifact the notebook made unreadable) ends as a visible, complete record whose status.json
says what happened. ``execute`` has no global state (no chdir; the environment goes to its own kernel only), so
a sweep can call it from many threads or processes at once.

Every run records what its kernel used (:mod:`kit.running.resources`). A sweep passes ``slots``, held only while
cells execute (the next run's kernel boots while this one runs, this one's record is completed after it gives the
slot back; such a run starts, in its record, when it takes its slot, and its CPU seconds include the boot), and
``stop``, which interrupts the kernel and records the run as interrupted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kit import __version__, settings
from kit.errors import Interrupted, RunFailed, RunNotStarted
from kit.record import Failure, Resources, Run, RunInfo, RunStatus, manifest, schema, store
from kit.record.jsonfile import read_json, write_json
from kit.record.layout import RunLayout
from kit.running.environment import environment
from kit.running.plan import Plan, kernel_timeout
from kit.running.resources import Monitor

#: The longest error message kept in status.json (the notebook keeps the whole traceback).
MAX_EVALUE = 10_000
#: Seconds a kernel asked to stop (Ctrl-C in a sweep) gets to raise KeyboardInterrupt before it is killed.
STOP_GRACE = 10.0


class Slots(Protocol):
    """Places for runs executing cells at once (a sweep's workers): ``take`` waits for one, False once ``stop``."""

    def take(self, stop: threading.Event | None) -> bool: ...

    def give(self) -> None: ...


class _Stopped(Exception):
    """The run was asked to stop before its first cell (a sweep's Ctrl-C while its kernel booted)."""


class _Watch:
    """One run's kernel seen from outside: what it uses, the slot it holds in a sweep, stopping it when asked."""

    def __init__(self, slots: Slots | None, stop: threading.Event | None) -> None:
        self.slots, self.stop = slots, stop
        self.monitor: Monitor | None = None
        self._holding, self._pgid, self._stopping_since, self._executing = False, None, None, False
        #: When the run took its slot (time.time()): in a sweep, the run starts then, its kernel booted before.
        self.slot_taken: float | None = None

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def started(self, pid: int, pgid: int | None) -> None:
        self._pgid = pgid
        self.monitor = Monitor(pid, tick=self._interrupt_if_stopping).start()

    def take_slot(self) -> bool:
        """Wait for a place to execute cells; False when the run should stop instead."""
        if self.slots is not None:
            self._holding = self.slots.take(self.stop)
            self.slot_taken = time.time()
            return self._holding
        return not self.stopping

    def cell_executes(self, **_) -> None:
        """nbclient's hook before each code cell: the first waits for a slot (the kernel is booted and ready)."""
        if not self._executing:
            self._executing = True
            if not self.take_slot():
                raise _Stopped("stopped before the first cell")

    def cells_done(self) -> None:
        """The last cell ran: measure the kernel before it goes, and give the slot to the next run."""
        self._pgid = None  # nothing left to interrupt: from now on the kernel only shuts down
        if self.monitor:
            self.monitor.sample()
        self._give()

    async def exited(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) for the kernel to exit, measure it a last time; whether it exited."""
        deadline = time.monotonic() + timeout
        while self.monitor and not self.monitor.exited() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self.monitor:
            self.monitor.sample()
        return bool(self.monitor and self.monitor.exited())

    def _give(self) -> None:
        if self._holding:
            self._holding = False
            self.slots.give()

    def _interrupt_if_stopping(self) -> None:
        """Called between samples: Ctrl-C for the kernel while stopping, until it ends; a kill after the grace."""
        if not self.stopping or self._pgid is None or not (self.monitor and self.monitor.running()):
            return  # never signal a group whose leader is gone: its id may be another's by now
        now = time.monotonic()
        self._stopping_since = self._stopping_since or now
        # A kernel between cells ignores SIGINT, so it is sent again until the run ends.
        sent = signal.SIGKILL if now - self._stopping_since > STOP_GRACE else signal.SIGINT
        try:
            os.killpg(self._pgid, sent)
        except OSError:  # already gone
            pass

    def close(self) -> Resources | None:
        self._give()
        return self.monitor.stop() if self.monitor else None


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def _unformatted(path: Path) -> str:
    """A path papermill will not change: it formats paths with the parameters (``{seed}``), so braces are doubled."""
    return str(path).replace("{", "{{").replace("}", "}}")


def _kernel_manager_class(env: dict[str, str], log: Path, watch: _Watch):
    """A kernel manager that starts the kernel with ``env`` added to this process's environment, watched.

    The kernel's own stderr (TensorFlow's C++ logging, a crash) goes to ``log`` in the run, not the terminal. Once
    started, the kernel is measured; when its cells are done it gives its slot back (in a sweep), and it is
    measured until it has exited.
    """
    from jupyter_client.manager import AsyncKernelManager

    class RunKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            with open(log, "ab") as stream:
                started = await super().start_kernel(stdout=stream, stderr=stream, **kw)
            watch.started(self.provisioner.pid, getattr(self.provisioner, "pgid", None))
            return started

        async def shutdown_kernel(self, now: bool = False, restart: bool = False):
            watch.cells_done()
            if not (now or restart or watch.stopping):  # let it exit, and measure it to its last CPU second
                await self.request_shutdown()
                if await watch.exited(self.shutdown_wait_time):
                    await self.provisioner.wait()  # reap it now, rather than after jupyter_client's 0.1 s polls
                now = True  # it exited (or overstayed): what is left is to reap it, asking nothing more of it
            return await super().shutdown_kernel(now=now or watch.stopping, restart=restart)

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


def _papermill(plan: Plan, record: RunLayout, run_id: str, progress: bool, watch: _Watch) -> None:
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
            kernel_manager_class=_kernel_manager_class(kernel_env, record.kernel_log, watch),
            resources={"metadata": {"path": plan.invocation.cwd}},
            # The kernel listens on localhost only; its warning about unencrypted TCP is noise in a batch run.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            on_cell_error=on_cell_error,
            on_cell_execute=watch.cell_executes,
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


def execute(
    plan: Plan, *, progress: bool = False, slots: Slots | None = None, stop: threading.Event | None = None
) -> Run:
    """Run the plan and record it; return the run.

    Raises RunFailed when the notebook raises, a cell takes longer than the timeout, the kernel dies or the record
    could not be completed as it should, and Interrupted on Ctrl-C or once ``stop`` is set: both after the record is
    complete and visible. Raises RunIdTaken or RunsDirError, with nothing written, when the record cannot be
    started; RunIdTaken also when another attempt at a retryable plan recorded it first (this one's is removed);
    RunNotStarted, with nothing written, when ``stop`` was set before the first cell ran. ``slots`` limits how
    many runs execute cells at once (see :class:`Slots`).
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
    status, failure = RunStatus.SUCCEEDED, None
    watch = _Watch(slots, stop)
    try:
        write_json(record.params, plan.params)
        write_json(record.status, info.to_dict())
        _papermill(plan, record, reservation.run_id, progress, watch)
    except _Stopped:  # a sweep stopped before this run's first cell: it never ran, so it leaves nothing
        watch.close()
        shutil.rmtree(reservation.path, ignore_errors=True)
        raise RunNotStarted(reservation.run_id) from None
    except KeyboardInterrupt:
        status, failure = RunStatus.INTERRUPTED, Failure("KeyboardInterrupt", "", *_last_started(record.notebook))
    except Exception as error:  # the notebook raised, a cell timed out, the kernel died: all are recorded
        status = RunStatus.FAILED
        failure = getattr(error, "kit_failure", None) or Failure(type(error).__name__, str(error)[:MAX_EVALUE])
        if watch.stopping:  # the kernel was interrupted (or killed) because the sweep stops
            where = (failure.cell_index, failure.execution_count)
            status, failure = RunStatus.INTERRUPTED, Failure("KeyboardInterrupt", "", *where)
    resources = watch.close()
    problems = _complete(record, plan, env)
    if problems and failure is None:
        status, failure = RunStatus.FAILED, Failure("RecordError", "; ".join(problems)[:MAX_EVALUE])
    ended, started = time.time(), watch.slot_taken or reservation.started
    info = dataclasses.replace(
        info,
        status=status,
        failure=failure,
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
    if failure is not None:
        raise RunFailed(run.path, failure)
    return run
