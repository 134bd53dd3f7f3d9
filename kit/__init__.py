"""kit: reproducible, recorded notebook runs in the kit image.

The Python API, for notebooks and scripts alike::

    import kit
    kit.seed_everything(seed)
    kit.log_metric("accuracy", accuracy)
    kit.save_model(model, "model")
    run = kit.run("notebooks/train_tabular.ipynb", {"seed": 1})
    sweep = kit.sweep("notebooks/train_tabular.ipynb", {"seed": [0, 1, 2, 3]})

Importing kit is instant: every name below is loaded on first use (the imports under ``TYPE_CHECKING`` show
IDEs and readers where each one lives), and TensorFlow and scikit-learn are imported only by the functions that
need them.

The package, in layers whose imports point one way, down (import-linter checks it: ``[tool.importlinter]`` in
pyproject.toml)::

    cli                              the ``kit`` command
    display | sweeping | serving     records for people; sweeps; a run's model over HTTP, in batches, on Kubernetes
    running                          preparing and executing runs
    tracking                         what a notebook calls in its kernel
    models                           model formats and signatures
    record                           the run and sweep records every part reads and writes
    errors, k8s, settings            the base exception; what Kubernetes accepts in a manifest (names, images,
                                     quantities); the names kit agrees on with the shell, image and kernels
    exits, plainyaml, shorten,       exit codes; Kubernetes manifests as YAML without anchors; values shortened
    version                          for messages; kit's version
"""

from importlib import import_module
from typing import TYPE_CHECKING

from kit.version import __version__

if TYPE_CHECKING:
    from kit.display.report import report
    from kit.errors import KitError
    from kit.models import load_model
    from kit.record import Run, find_run, list_runs
    from kit.record.comparison import compare
    from kit.running import execute, prepare, run, verify
    from kit.running.environment import environment
    from kit.sweeping import find_sweep, sweep
    from kit.tracking import artifact_path, evaluate, input_path, log_input, log_metric, save_model, seed_everything

__all__ = [
    "__version__",
    # running notebooks
    "run",
    "prepare",
    "execute",
    "verify",
    "sweep",
    # reading records
    "Run",
    "find_run",
    "list_runs",
    "find_sweep",
    "compare",
    "report",
    "environment",
    # in a notebook's kernel
    "seed_everything",
    "log_metric",
    "artifact_path",
    "input_path",
    "log_input",
    "save_model",
    "load_model",
    "evaluate",
    "KitError",
]
#: The module that defines each public name (under that name).
_MODULES = {
    "kit.running": ("run", "prepare", "execute", "verify"),
    "kit.record": ("Run", "find_run", "list_runs"),
    "kit.record.comparison": ("compare",),
    "kit.display.report": ("report",),
    "kit.running.environment": ("environment",),
    "kit.sweeping": ("sweep", "find_sweep"),
    "kit.tracking": (
        "seed_everything",
        "log_metric",
        "artifact_path",
        "input_path",
        "log_input",
        "save_model",
        "evaluate",
    ),
    "kit.models": ("load_model",),
    "kit.errors": ("KitError",),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'kit' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
