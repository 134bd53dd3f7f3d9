"""Running notebooks: prepare (check everything, write nothing), then execute (run and record).

``run`` is both in one call; ``verify`` prepares the replay of a recorded run and executes it. Sweeps prepare
every point before executing any.
"""

from __future__ import annotations

import os
from typing import Any

from kit.record import Run
from kit.running.execute import execute
from kit.running.notebook import Notebook
from kit.running.plan import Plan, prepare, replay
from kit.running.verification import verify

__all__ = ["Notebook", "Plan", "execute", "prepare", "replay", "run", "verify"]


def run(
    notebook: str | os.PathLike | Notebook,
    parameters: dict[str, Any] | None = None,
    *,
    runs_dir: str | os.PathLike | None = None,
    run_id: str | None = None,
    timeout: float | None = None,
    threads: int | None = None,
    progress: bool = False,
) -> Run:
    """Execute ``notebook`` with ``parameters`` and record the run; return it.

    Raises KitError before anything is written for a mistake (an unknown parameter, a value of the wrong type,
    a taken run id); RunFailed when the notebook raises or a cell takes longer than ``timeout`` seconds;
    Interrupted on Ctrl-C; both after the record is complete. ``threads`` fixes the thread counts (default:
    ``$KIT_THREADS``, else the CPUs the container may use).
    """
    plan = prepare(notebook, parameters, runs_dir=runs_dir, run_id=run_id, timeout=timeout, threads=threads)
    return execute(plan, progress=progress)
