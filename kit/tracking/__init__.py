"""What a notebook calls in its kernel: seeding, metrics, artifacts, models, evaluation.

Inside ``kit run`` everything goes into the run being recorded; in JupyterLab, into the scratch run.
"""

from kit.tracking.current import artifact_path, log_metric
from kit.tracking.evaluation import evaluate
from kit.tracking.models import load_model, save_model
from kit.tracking.seeding import seed_everything

__all__ = ["artifact_path", "evaluate", "load_model", "log_metric", "save_model", "seed_everything"]
