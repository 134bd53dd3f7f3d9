"""Preparing a run: everything checked and decided, nothing written. :func:`kit.running.execute` runs the plan.

``prepare`` reads the notebook, checks the given values against its parameters, chooses the thread counts and
the hash seed, and checks the run id, the timeout and the runs directory. Every mistake is a
:class:`kit.errors.KitError` here, before any file exists; a sweep prepares all its points before running one.
``replay`` prepares the re-execution of a recorded run from its recorded invocation (``kit verify``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit import settings
from kit.errors import InvalidNotebook, NotVerifiable, OptionError, UnknownParameter
from kit.record import Invocation, Run, Threads
from kit.record.store import check_run_id, check_runs_dir
from kit.running import notebook as notebooks
from kit.running.notebook import Notebook
from kit.running.parameters import check, recorded_defaults
from kit.running.threads import choose
from kit.shorten import shown
from kit.tracking.seeding import hash_seed

#: A cell may take at most this long (nbclient counts whole seconds).
MAX_TIMEOUT = 10**9


@dataclass(frozen=True)
class Plan:
    """A run, prepared: what to execute, with which values, and where its record goes."""

    notebook: Notebook
    #: Every value the kernel runs with, as params.json records it (the given ones and the defaults).
    params: dict[str, Any]
    invocation: Invocation
    runs_dir: Path
    #: None: a new id is made when the run starts.
    run_id: str | None = None
    #: Another attempt may run this plan too (a sweep's point whose machine died): the first record takes the id.
    retryable: bool = False


def resolve(notebook: Notebook, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The given values checked against the notebook's parameters, and every value the kernel will run with."""
    if given and not notebook.has_parameters_cell:
        fix = "tag the cell that sets the defaults with 'parameters' in JupyterLab"
        raise InvalidNotebook(notebook.path, "no cell tagged 'parameters'", fix)
    for name in given:
        if name not in notebook.parameters:
            raise UnknownParameter(name, notebook.path, list(notebook.parameters))
    checked = {name: check(notebook.parameters[name], value) for name, value in given.items()}
    # papermill keeps the values an earlier run injected when it is given none (and replaces them otherwise).
    defaults = recorded_defaults(notebook.parameters, {} if given else notebook.injected)
    merged = {**defaults, **checked}
    return checked, {name: merged[name] for name in notebook.parameters if name in merged}


def check_timeout(timeout: Any) -> float | int | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT:
        raise OptionError(
            "timeout", f"--timeout must be a number of seconds above 0, not {shown(timeout)}: e.g. --timeout 600"
        )
    return timeout


def prepare(
    notebook: str | os.PathLike | Notebook,
    parameters: dict[str, Any] | None = None,
    *,
    runs_dir: str | os.PathLike | None = None,
    run_id: str | None = None,
    timeout: float | None = None,
    threads: int | Threads | None = None,
) -> Plan:
    """Check everything about a run and decide what is left to decide; raise KitError for any mistake.

    ``threads``: a count, or counts a sweep chose for all its points (recorded with where they came from).
    """
    if not isinstance(notebook, Notebook):
        notebook = notebooks.load(notebook)
    given, params = resolve(notebook, dict(parameters or {}))
    invocation = Invocation(
        notebook=str(notebook.path),
        parameters=given,
        cwd=str(notebook.path.resolve().parent),
        threads=threads if isinstance(threads, Threads) else choose(threads),
        hash_seed=hash_seed(params),
        kernel=notebook.kernel,
        timeout=check_timeout(timeout),
    )
    if run_id is not None:
        check_run_id(run_id)
    return Plan(notebook, params, invocation, check_runs_dir(settings.runs_dir(runs_dir)), run_id)


def _cwd(recorded: Invocation, notebook: Notebook) -> str:
    """Where the run's kernel worked, if that is here too, else where the notebook given then is, else its own."""
    for candidate in (recorded.cwd, str(Path(recorded.notebook).parent)):
        if candidate and Path(candidate).is_dir():
            return candidate
    return str(notebook.path.resolve().parent)


def replay(run: Run, *, runs_dir: str | os.PathLike | None = None, run_id: str | None = None) -> Plan:
    """The plan that re-executes ``run``'s own notebook with its recorded parameters, threads and hash seed.

    The whole record is read first: a damaged one is a DamagedRecord before anything runs.
    """
    run.check()
    if not run.succeeded:
        raise NotVerifiable(run.id, run.status.value)
    recorded = run.info.invocation
    notebook = notebooks.load(run.layout.notebook)
    given, params = resolve(notebook, recorded.parameters)
    invocation = dataclasses.replace(
        recorded,
        parameters=given,
        cwd=_cwd(recorded, notebook),
        threads=dataclasses.replace(recorded.threads, source="record"),
        verifies=run.id,
    )
    run_id = run_id if run_id is not None else f"{run.id[:100]}.verify-{secrets.token_hex(4)}"
    check_run_id(run_id)
    runs = check_runs_dir(Path(runs_dir) if runs_dir is not None else run.path.parent)
    return Plan(notebook, params, invocation, runs, run_id)


def kernel_timeout(invocation: Invocation) -> int | None:
    """The timeout papermill's client takes: whole seconds, rounded up (``--timeout 1.5`` allows 2 s)."""
    return math.ceil(invocation.timeout) if invocation.timeout else None
