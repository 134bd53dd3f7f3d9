"""Every name kit agrees on with itself and with the kernels it starts: files of a run record, variables.

A run directory holds exactly the files named here; the kernel finds its run through ``KIT_RUN_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Where runs go unless ``--runs-dir`` says otherwise (relative to the current directory).
RUNS_DIR_ENV = "KIT_RUNS_DIR"
DEFAULT_RUNS_DIR = "runs"

#: Set by ``kit run`` in the kernel's environment: the run directory being written.
RUN_DIR_ENV = "KIT_RUN_DIR"
RUN_ID_ENV = "KIT_RUN_ID"

NOTEBOOK = "notebook.ipynb"
PARAMS = "params.json"
METRICS = "metrics.json"
ARTIFACTS = "artifacts"
MANIFEST = "manifest.json"
ENVIRONMENT = "environment.json"
STATUS = "status.json"
#: The kernel process's own stdout and stderr (TensorFlow's C++ logging, crashes); cell outputs are in the notebook.
KERNEL_LOG = "kernel.log"
#: What ``kit.seed_everything`` tells the run from inside the kernel; folded into environment.json.
SEEDED = ".seeded.json"

#: A run being written is a hidden directory; it gets its id only when its record is complete.
PARTIAL_PREFIX = "."
PARTIAL_SUFFIX = ".partial"
#: Where metrics and artifacts go when no ``kit run`` started the kernel (JupyterLab).
SCRATCH = "scratch"

#: The image's lock file, and the variables its build sets (see the Dockerfile).
IMAGE_LOCK = Path("/etc/kit/requirements.lock")
IMAGE_ENV_PREFIX = "KIT_IMAGE_"


def runs_dir(given: str | os.PathLike | None = None) -> Path:
    """The runs directory: the one given, else ``$KIT_RUNS_DIR``, else ``./runs``."""
    return Path(given or os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)
