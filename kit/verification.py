"""Re-executing a run with its recorded parameters, seed and threads, and checking it gives the same results.

The code re-executed is the run's own ``notebook.ipynb`` (papermill replaces its injected parameters), so a run
verifies against what actually ran even when the source notebook has changed since.
"""

from __future__ import annotations

import os
from pathlib import Path

from kit import settings
from kit.comparison import Comparison, compare
from kit.errors import KitError
from kit.record import find
from kit.runs import Replay, run
from kit.threads import Threads


def _cwd(status: dict) -> Path | None:
    """The directory the run's kernel worked in, if it is here too, else that of the notebook as it was given."""
    for candidate in (status.get("invocation", {}).get("cwd"), Path(status.get("notebook", ".")).parent):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def verify(
    run_ref: str | os.PathLike,
    *,
    runs_dir: str | os.PathLike | None = None,
    run_id: str | None = None,
    progress: bool = False,
) -> Comparison:
    """Re-execute a succeeded run into a new run and compare them; ``.reproduced`` tells the outcome."""
    original = find(run_ref, runs_dir)
    if not original.succeeded:
        raise KitError(f"run {original.id} {original.status.get('status')}: only a succeeded run can be verified")
    status, env = original.status, original.environment
    if "threads" not in env:
        raise KitError(f"run {original.id} records no thread settings: it was not made by kit run")
    threads = Threads.from_dict(env["threads"])
    replay = Replay(threads, env.get("hash_seed", "0"), _cwd(status), original.id, status.get("notebook"))
    again = run(
        original.path / settings.NOTEBOOK,
        status.get("invocation", {}).get("parameters", {}),
        runs_dir=runs_dir if runs_dir is not None else original.path.parent,
        run_id=run_id or f"{original.id}.verify-{os.urandom(2).hex()}",
        timeout=status.get("invocation", {}).get("timeout"),
        progress=progress,
        replay=replay,
    )
    return compare(original, again)
