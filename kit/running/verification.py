"""Re-executing a run with its recorded invocation, and checking it gives the same results (``kit verify``).

The code re-executed is the run's own ``notebook.ipynb`` (papermill replaces its injected parameters), so a run
verifies against what actually ran even when the source notebook has changed since.
"""

from __future__ import annotations

import os

from kit.record import Run, find_run
from kit.record.comparison import Comparison, compare
from kit.running.execute import execute
from kit.running.plan import replay


def verify(
    run: str | os.PathLike | Run,
    *,
    runs_dir: str | os.PathLike | None = None,
    run_id: str | None = None,
    progress: bool = False,
) -> Comparison:
    """Re-execute a succeeded run into a new run and compare them; ``.reproduced`` tells the outcome."""
    original = run if isinstance(run, Run) else find_run(run, runs_dir)
    again = execute(replay(original, runs_dir=runs_dir, run_id=run_id), progress=progress)
    return compare(original, again)
