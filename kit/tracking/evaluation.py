"""The standard test metrics of a model, computed one way everywhere (training and inference notebooks alike)."""

from __future__ import annotations

from kit.errors import KitError
from kit.tracking.current import log_metric

TASKS = ("classification", "regression")


def evaluate(task: str, y_true, y_pred, y_score=None, *, log: bool = True) -> dict[str, float]:
    """Test metrics, logged with :func:`kit.log_metric` unless ``log=False``; returned as a dict.

    classification: ``accuracy``, ``f1`` (binary for 0/1 labels, else macro) and, given ``y_score``
    (the positive class's probability, or one column per class), ``roc_auc``. regression: ``r2``, ``mae``.
    """
    import numpy
    from sklearn import metrics

    if task not in TASKS:
        raise KitError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    if task == "regression":
        scores = {"r2": metrics.r2_score(y_true, y_pred), "mae": metrics.mean_absolute_error(y_true, y_pred)}
    else:
        binary = set(numpy.unique(y_true).tolist()) <= {0, 1}
        scores = {
            "accuracy": metrics.accuracy_score(y_true, y_pred),
            "f1": metrics.f1_score(y_true, y_pred, average="binary" if binary else "macro"),
        }
        if y_score is not None:
            scores["roc_auc"] = metrics.roc_auc_score(y_true, y_score, multi_class="ovr")
    scores = {name: float(value) for name, value in scores.items()}
    if log:
        for name, value in scores.items():
            log_metric(name, value)
    return scores
