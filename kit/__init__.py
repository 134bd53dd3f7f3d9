"""kit: reproducible, recorded notebook runs in the kit image.

The Python API, for notebooks and scripts alike::

    import kit
    kit.seed_everything(seed)
    kit.log_metric("accuracy", accuracy)
    kit.save_model(model, "model")
    run = kit.run("notebooks/train_tabular.ipynb", {"seed": 1})

Importing kit is instant: every name below is loaded on first use, and TensorFlow and scikit-learn are imported
only by the functions that need them.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

#: Public name -> the module that defines it.
_API = {
    "run": "kit.runs",
    "verify": "kit.verification",
    "compare": "kit.comparison",
    "report": "kit.reporting",
    "seed_everything": "kit.seeding",
    "log_metric": "kit.tracking",
    "artifact_path": "kit.tracking",
    "save_model": "kit.models",
    "load_model": "kit.models",
    "environment": "kit.env",
    "find_run": "kit.record",
    "list_runs": "kit.record",
    "evaluate": "kit.evaluation",
    "KitError": "kit.errors",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'kit' has no attribute {name!r}")
    module = import_module(_API[name])
    return getattr(module, {"find_run": "find", "list_runs": "all_runs"}.get(name, name))
