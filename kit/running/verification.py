"""Re-executing a run with its recorded invocation, and checking it gives the same results (``kit verify``).

The code re-executed is the run's own ``notebook.ipynb`` (papermill replaces its injected parameters), so a run
verifies against what actually ran even when the source notebook has changed since.
"""

from __future__ import annotations

import os

from kit.errors import InputsChanged
from kit.record import Run, find_run
from kit.record.comparison import Comparison, compare
from kit.record.inputs import check_now
from kit.running.execute import execute
from kit.running.plan import replay


def verify(
    run: str | os.PathLike | Run,
    *,
    runs_dir: str | os.PathLike | None = None,
    run_id: str | None = None,
    progress: bool = False,
    ignore_inputs: bool = False,
) -> Comparison:
    """Re-execute a succeeded run into a new run and compare them; ``.reproduced`` tells the outcome.

    The files the run read are checked first: InputsChanged, with nothing run, when one has changed or is missing
    (a file touched without being changed is the same), unless ``ignore_inputs``.
    """
    original = run if isinstance(run, Run) else find_run(run, runs_dir)
    plan = replay(original, runs_dir=runs_dir, run_id=run_id)
    if not ignore_inputs:
        unchanged_inputs(original)
    again = execute(plan, progress=progress)
    return compare(original, again)


def unchanged_inputs(run: Run) -> None:
    """InputsChanged when a file ``run`` read is not what it read (by sha256) or is missing."""
    differences = check_now(run.inputs)
    if differences:
        changed = [(d.input.resolved or d.input.path, d.input.sha256, d.now, d.problem) for d in differences]
        raise InputsChanged(run.id, changed)
