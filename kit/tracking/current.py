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
from kit.errors import ArtifactNameError, MetricError
from kit.record import layout
from kit.record.jsonfile import read_json, write_json
from kit.record.layout import RunLayout
from kit.record.schema import check_metrics

#: Metrics are JSON numbers every reader takes: integers within 64 bits, finite floats.
MAX_INT = 2**63 - 1


def current() -> RunLayout:
    """The record of the run this kernel is part of: the one ``kit run`` gave, else the scratch run."""
    given = os.environ.get(settings.RUN_DIR_ENV)
    path = Path(given) if given else settings.runs_dir() / layout.SCRATCH
    path.mkdir(parents=True, exist_ok=True)
    return RunLayout(path)


def in_run() -> bool:
    """Whether this kernel was started by ``kit run`` (as opposed to JupyterLab)."""
    return bool(os.environ.get(settings.RUN_DIR_ENV))


def _number(name: str, value: object) -> int | float:
    if hasattr(value, "item") and callable(value.item):  # NumPy and TensorFlow scalars
        try:
            value = value.item()
        except (ValueError, TypeError):  # an array of several values
            raise MetricError(name, "must be one number, not an array: log float(value)") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise MetricError(name, f"must be a number, not a {type(value).__name__}: log float(value)")
    if isinstance(value, numbers.Integral):
        if abs(int(value)) > MAX_INT:
            raise MetricError(name, "is an integer beyond 64 bits: log float(value)")
        return int(value)
    value = float(value)
    if not math.isfinite(value):
        raise MetricError(name, f"is {value}, not a finite number: check the computation (did training diverge?)")
    return value


def log_metric(name: str, value: float) -> None:
    """Record a metric of the run (the last value logged under a name wins) and show it in one line."""
    if not isinstance(name, str) or not name or len(name) > 200:
        raise MetricError(name, "needs a name of 1 to 200 characters: e.g. kit.log_metric('accuracy', 0.9)")
    value = _number(name, value)
    path = current().metrics
    try:
        logged = check_metrics(read_json(path))
    except FileNotFoundError:
        logged = {}
    except (OSError, ValueError) as error:
        raise MetricError(name, f"cannot be added: {path} is damaged ({error}); remove it to start afresh") from None
    write_json(path, {**logged, name: value})
    shown = f"{value:.6g}" if isinstance(value, float) else value
    print(f"metric {name} = {shown}")


def artifact_path(name: str) -> Path:
    """Where to save the artifact ``name`` (a relative path such as ``plots/loss.png``); its folder exists."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise ArtifactNameError(name)
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ArtifactNameError(name)
    path = current().artifacts / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
