"""What a notebook calls in its kernel: seeding, metrics, artifacts, saving models, evaluation, inputs.

``kit.load_model`` is :mod:`kit.models`'s, which servers use too. Inside ``kit run`` everything goes into the run
being recorded; in JupyterLab, into the scratch run.
"""

from kit.tracking.current import artifact_path, log_metric
from kit.tracking.evaluation import evaluate
from kit.tracking.inputs import input_path, log_input
from kit.tracking.saving import save_model
from kit.tracking.seeding import seed_everything

__all__ = ["artifact_path", "evaluate", "input_path", "log_input", "log_metric", "save_model", "seed_everything"]
