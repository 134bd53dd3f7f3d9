"""The names kit agrees on with the user's shell, with the image and with the kernels it starts.

The files of a run record are named in :mod:`kit.record.layout`, the one place that defines them.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Where runs go unless ``--runs-dir`` says otherwise (relative to the current directory).
RUNS_DIR_ENV = "KIT_RUNS_DIR"
DEFAULT_RUNS_DIR = "runs"

#: Set by ``kit run`` in the kernel's environment: the run directory being written, and the run's id.
RUN_DIR_ENV = "KIT_RUN_DIR"
RUN_ID_ENV = "KIT_RUN_ID"

#: Paths (files or folders, separated by ``:``) whose reads are not recorded as inputs of a run (a scratch folder).
INPUTS_EXCLUDE_ENV = "KIT_INPUTS_EXCLUDE"
#: Set it to ``off`` to record no file reads in runs (inputs declared with kit.input_path are still recorded).
CAPTURE_INPUTS_ENV = "KIT_CAPTURE_INPUTS"

#: Set it (or pass ``kit run --threads``) to choose the thread count instead of the CPU quota.
THREADS_ENV = "KIT_THREADS"

#: Set in a model image (images/model/Dockerfile): the run it holds, so `kit serve` and `kit predict` need no RUN.
MODEL_RUN_ENV = "KIT_MODEL_RUN"

#: How each worker process of ``kit serve --workers N`` finds its model and options (set by kit.serving.server).
SERVE_RUN_ENV = "KIT_SERVE_RUN"
SERVE_NAME_ENV = "KIT_SERVE_NAME"
SERVE_MAX_BODY_ENV = "KIT_SERVE_MAX_BODY"
SERVE_WORKERS_ENV = "KIT_SERVE_WORKERS"
SERVE_METRICS_NEED_TOKEN_ENV = "KIT_SERVE_METRICS_NEED_TOKEN"
SERVE_AUDIT_OUTPUTS_ENV = "KIT_SERVE_AUDIT_OUTPUTS"
SERVE_NO_BATCHING_ENV = "KIT_SERVE_NO_BATCHING"
#: ``kit serve --token-file`` and ``--audit-log`` when not given (a model image, ``kit deploy``'s pods): the file of
#: bearer tokens (one a line; a Kubernetes Secret mounted as a file), and where the audit trail goes.
SERVE_TOKEN_FILE_ENV = "KIT_SERVE_TOKEN_FILE"
SERVE_AUDIT_LOG_ENV = "KIT_SERVE_AUDIT_LOG"

#: ``kit sweep --scheduler``: seconds to wait for a first Dask worker (default 60), and the largest record in MB a
#: worker sends back to the client when they share no disk (default 2048; see kit.sweeping.shipping).
DASK_WAIT_ENV = "KIT_DASK_WAIT"
DASK_MAX_RECORD_MB_ENV = "KIT_DASK_MAX_RECORD_MB"

#: Set by Kubernetes in each pod of an Indexed Job: which completion, here which point of a sweep, the pod is.
JOB_INDEX_ENV = "JOB_COMPLETION_INDEX"

#: The image's lock file, and the prefix of the variables its build sets (see the top-level Dockerfile).
IMAGE_LOCK = Path("/etc/kit/requirements.lock")
IMAGE_ENV_PREFIX = "KIT_IMAGE_"


def runs_dir(given: str | os.PathLike | None = None) -> Path:
    """The runs directory: the one given, else ``$KIT_RUNS_DIR``, else ``./runs``."""
    return Path(given or os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)


def capture_inputs() -> bool:
    """Whether runs record the files their notebook reads (``$KIT_CAPTURE_INPUTS`` is not ``off``)."""
    return os.environ.get(CAPTURE_INPUTS_ENV, "").strip().lower() not in ("off", "0", "false", "no")


def inputs_excluded() -> list[str]:
    """``$KIT_INPUTS_EXCLUDE``'s paths, absolute (relative ones from the current directory)."""
    given = os.environ.get(INPUTS_EXCLUDE_ENV, "")
    return [os.path.abspath(path) for path in given.split(os.pathsep) if path]


def kernel_variables(run_dir: Path, runs: Path, run_id: str) -> dict[str, str]:
    """What ``kit run`` tells its kernel: its record, where runs go, which reads not to record as inputs.

    The runs directory is for ``kit.find_run``; the exclusions are made absolute here, since the kernel works in
    the notebook's folder.
    """
    return {
        RUN_DIR_ENV: str(run_dir),
        RUNS_DIR_ENV: str(runs.resolve()),
        RUN_ID_ENV: run_id,
        INPUTS_EXCLUDE_ENV: os.pathsep.join(inputs_excluded()),
    }
