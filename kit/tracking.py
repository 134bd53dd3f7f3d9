"""What a notebook records into its run: metrics and artifacts. Outside ``kit run`` they go to a scratch run.

``kit run`` tells the kernel its run directory through ``$KIT_RUN_DIR``; in JupyterLab there is none, and
metrics and artifacts go to ``runs/scratch`` (under ``$KIT_RUNS_DIR`` when set), so a notebook behaves the
same in both.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path, PurePosixPath

from kit import settings
from kit.errors import KitError
from kit.record import read_json, write_json


def run_dir() -> Path:
    """The directory of the run this kernel is part of: the one ``kit run`` gave, else the scratch run."""
    given = os.environ.get(settings.RUN_DIR_ENV)
    path = Path(given) if given else settings.runs_dir() / settings.SCRATCH
    path.mkdir(parents=True, exist_ok=True)
    return path


def in_run() -> bool:
    """Whether this kernel was started by ``kit run`` (as opposed to JupyterLab)."""
    return bool(os.environ.get(settings.RUN_DIR_ENV))


def log_metric(name: str, value: float) -> float:
    """Record a metric of the run (the last value logged under a name wins) and show it."""
    if not isinstance(name, str) or not name:
        raise KitError(f"a metric name must be a non-empty string, not {name!r}: e.g. kit.log_metric('accuracy', 0.9)")
    if hasattr(value, "item"):  # NumPy and TensorFlow scalars
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise KitError(f"metric {name!r} must be a number, not {value!r}: log float(value)")
    value = int(value) if isinstance(value, numbers.Integral) else float(value)
    path = run_dir() / settings.METRICS
    write_json(path, {**read_json(path, {}), name: value})
    shown = f"{value:.6g}" if isinstance(value, float) and math.isfinite(value) else value
    print(f"metric {name} = {shown}")
    return value


def artifact_path(name: str) -> Path:
    """Where to save the artifact ``name`` (a relative path such as ``plots/loss.png``); its folder exists."""
    relative = PurePosixPath(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise KitError(f"artifact name {name!r} must be a relative path inside the run, such as 'model.keras'")
    path = run_dir() / settings.ARTIFACTS / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
