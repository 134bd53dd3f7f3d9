"""The layout of run and sweep records on disk, defined here only: every reader and writer goes through it.

::

    runs/                       the runs directory (--runs-dir, $KIT_RUNS_DIR, ./runs)
      .ID.partial/              a run being written: hidden, renamed to ID once its record is complete
      .ID+ATTEMPT.partial/      one attempt at a sweep point's run (another may follow if its machine died)
      ID/                       a finished run (succeeded, failed or interrupted)
        notebook.ipynb          the executed notebook
        params.json             every parameter's value
        metrics.json            what the notebook logged with kit.log_metric
        artifacts/              files saved with kit.artifact_path or kit.save_model
        manifest.json           size and sha256 of every artifact
        inputs.json             every file the notebook read, and inputs it declared (kit.record.inputs)
        environment.json        what the run ran on
        status.json             the run's status, invocation and failure (kit.record.schema.RunInfo)
        kernel.log              the kernel process's own output
      scratch/                  metrics and artifacts logged outside kit run (JupyterLab)
      sweeps/                   sweep records (kit sweep); each point of a sweep is an ordinary run above
        SWEEP/
          sweep.json            the grid, the points, their runs and statuses (kit.record.sweep.SweepInfo)
          .lock                 held (flock) by the kit process running the sweep
          report.html           kit report SWEEP (derived, not part of the record)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NOTEBOOK = "notebook.ipynb"
PARAMS = "params.json"
METRICS = "metrics.json"
ARTIFACTS = "artifacts"
MANIFEST = "manifest.json"
INPUTS = "inputs.json"
ENVIRONMENT = "environment.json"
STATUS = "status.json"
KERNEL_LOG = "kernel.log"
#: What ``kit.seed_everything`` tells the run from inside the kernel; folded into environment.json at the end.
SEEDED = ".seeded.json"
#: What the kernel's input capture notes as the notebook reads (one JSON line each); folded into inputs.json.
INPUTS_LOG = ".inputs.jsonl"

#: Every entry of a finished run's directory.
RECORD = (NOTEBOOK, PARAMS, METRICS, ARTIFACTS, MANIFEST, INPUTS, ENVIRONMENT, STATUS, KERNEL_LOG)

#: A run being written is a hidden directory; it gets its id only when its record is complete.
PARTIAL_PREFIX = "."
PARTIAL_SUFFIX = ".partial"
#: Where metrics and artifacts go when no ``kit run`` started the kernel (JupyterLab); not a run.
SCRATCH = "scratch"
#: The folder of sweep records in the runs directory; not a run.
SWEEPS = "sweeps"
#: Names in the runs directory that are not runs, so no run may take them.
RESERVED = (SCRATCH, SWEEPS)
#: A sweep record's files.
SWEEP = "sweep.json"
SWEEP_LOCK = ".lock"
SWEEP_REPORT = "report.html"
#: Between a run id and the attempt in the hidden directory of a retryable run (never part of a run id).
ATTEMPT_SEPARATOR = "+"
#: The longest run id: its hidden ``.ID.partial`` name must fit a file name (255 bytes) too.
MAX_RUN_ID = 128
#: What every command takes for the newest run (``kit verify latest``) or sweep (``kit sweep show latest``).
LATEST = "latest"


def partial_name(run_id: str, attempt: str | None = None) -> str:
    """The hidden directory a run is written in: ``.ID.partial``, or ``.ID+ATTEMPT.partial`` for one attempt."""
    stem = f"{run_id}{ATTEMPT_SEPARATOR}{attempt}" if attempt else run_id
    return f"{PARTIAL_PREFIX}{stem}{PARTIAL_SUFFIX}"


def could_be_a_prefix(ref: str) -> bool:
    """Whether ``ref`` may be the start of an id: a name of the characters ids have (not a path, not empty)."""
    return 0 < len(ref) <= MAX_RUN_ID and ref.replace(".", "").replace("_", "").replace("-", "").isalnum()


def is_listed(path: Path) -> bool:
    """Whether an entry of the runs directory is a run to list: not hidden (partial), not scratch or sweeps."""
    return not path.name.startswith(PARTIAL_PREFIX) and path.name not in RESERVED


class _File:
    """A path of the record, declared once: ``RunLayout(root).params`` is ``root / "params.json"``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, layout: RunLayout | SweepLayout, owner: type) -> Path:
        return layout.root / self.name


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run record's files."""

    root: Path

    notebook = _File(NOTEBOOK)
    params = _File(PARAMS)
    metrics = _File(METRICS)
    artifacts = _File(ARTIFACTS)
    manifest = _File(MANIFEST)
    inputs = _File(INPUTS)
    environment = _File(ENVIRONMENT)
    status = _File(STATUS)
    kernel_log = _File(KERNEL_LOG)
    seeded = _File(SEEDED)
    inputs_log = _File(INPUTS_LOG)


@dataclass(frozen=True)
class SweepLayout:
    """The paths of one sweep record: ``SweepLayout.of(runs, sweep_id)`` is ``runs/sweeps/SWEEP``."""

    root: Path

    record = _File(SWEEP)
    lock = _File(SWEEP_LOCK)
    report = _File(SWEEP_REPORT)

    @classmethod
    def of(cls, runs: Path, sweep_id: str) -> SweepLayout:
        return cls(runs / SWEEPS / sweep_id)
