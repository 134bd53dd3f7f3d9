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

#: Set it (or pass ``kit run --threads``) to choose the thread count instead of the CPU quota.
THREADS_ENV = "KIT_THREADS"

#: Set in a model image (images/model/Dockerfile): the run it holds, so `kit serve` and `kit predict` need no RUN.
MODEL_RUN_ENV = "KIT_MODEL_RUN"

#: How each worker process of ``kit serve --workers N`` finds its model and options (set by kit.serving.server).
SERVE_RUN_ENV = "KIT_SERVE_RUN"
SERVE_NAME_ENV = "KIT_SERVE_NAME"
SERVE_MAX_BODY_ENV = "KIT_SERVE_MAX_BODY"

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


def kernel_variables(run_dir: Path, runs: Path, run_id: str) -> dict[str, str]:
    """What ``kit run`` tells its kernel: the record being written, and where runs go (for ``kit.find_run``)."""
    return {RUN_DIR_ENV: str(run_dir), RUNS_DIR_ENV: str(runs.resolve()), RUN_ID_ENV: run_id}
