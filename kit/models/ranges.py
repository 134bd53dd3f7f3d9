"""A model's training ranges: the smallest and largest value of each input it was trained on.

``kit.save_model(model, training=X_train)`` records them in the model's signature (:class:`.signature.Range`): for
a tabular model, each feature's finite minimum and maximum (a DataFrame's columns by name, an array's in training
order); for a tensor model (images), one range for its whole input, the minimum and maximum over every value of
every training row (pixels share one scale; a range per pixel would flag every stroke off the training strokes).
NaN and infinities are left out (a feature with no finite value has no range); a feature constant in training has
a range of one value, and any other value is outside it. A value outside its range is still predicted: the range is
for monitoring (``/metrics``), not a limit.

:class:`Counts` says, for an array of rows the server is answering, how many rows have each feature outside its
range, and (:func:`nan_rows`) how many hold NaN: vectorised, microseconds for a single row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kit.errors import TrainingDataError
from kit.models.signature import Range, Signature


def _columns(signature: Signature, data: Any):
    """The training data as a 2-D float64 array, one column per input of the signature (a tensor: one column)."""
    import numpy

    if signature.kind != "tabular":
        try:
            array = numpy.asarray(data, dtype=numpy.float64)
        except (ValueError, TypeError) as error:
            problem = f"is not numbers ({str(error)[:80]})"
            raise TrainingDataError(problem, "pass the array the model was fit on") from None
        if array.ndim < 2 or array.shape[0] == 0:
            raise TrainingDataError(f"has shape {array.shape}", "pass the rows (images) the model was fit on")
        return array.reshape(-1, 1)
    features = signature.features
    if hasattr(data, "columns"):  # a DataFrame: its columns by name, in the model's order
        by_name = {str(column): column for column in data.columns}
        missing = [name for name in features if name not in by_name]
        if missing:
            raise TrainingDataError(f"lacks the model's feature {missing[0]!r}", "pass the rows the model was fit on")
        data = data[[by_name[name] for name in features]]
    try:
        array = numpy.asarray(data, dtype=numpy.float64)
    except (ValueError, TypeError) as error:
        raise TrainingDataError(f"is not numbers ({str(error)[:80]})", "pass the rows the model was fit on") from None
    if array.ndim != 2 or array.shape[1] != len(features) or array.shape[0] == 0:
        raise TrainingDataError(f"has shape {array.shape}", f"pass the rows of the {len(features)} features")
    return array


def of_training(signature: Signature, data: Any) -> tuple[Range, ...]:
    """The range of each input of ``signature`` in ``data``, the rows the model was trained on (see the module)."""
    import numpy

    array = _columns(signature, data)
    names = names_of(signature)
    finite = numpy.isfinite(array)
    low = numpy.where(finite, array, numpy.inf).min(axis=0)
    high = numpy.where(finite, array, -numpy.inf).max(axis=0)
    return tuple(
        Range(name, float(low[index]), float(high[index])) for index, name in enumerate(names) if finite[:, index].any()
    )


def names_of(signature: Signature) -> tuple[str, ...]:
    """The inputs that have a range, or are counted: the features, or a tensor model's one input."""
    return signature.features if signature.kind == "tabular" else (signature.inputs[0].name,)


@dataclass(frozen=True)
class Counts:
    """For a signature with ranges: how many rows of an array have each input outside its range.

    ``names`` are the inputs counted (the features, or the tensor's one input), in the order of the counts.
    """

    names: tuple[str, ...]
    low: Any
    high: Any
    tabular: bool

    @classmethod
    def of(cls, signature: Signature) -> Counts | None:
        """The counts of ``signature``'s ranges; None when it has none (a model saved without training data)."""
        import numpy

        if not signature.ranges:
            return None
        names = names_of(signature)
        by_name = {item.input: item for item in signature.ranges}
        # An input without a range (no finite value in training) has -inf..inf: nothing is outside it.
        low = numpy.array([by_name[name].min if name in by_name else -numpy.inf for name in names])
        high = numpy.array([by_name[name].max if name in by_name else numpy.inf for name in names])
        return cls(names, low, high, signature.kind == "tabular")

    def outside(self, rows) -> Any:
        """How many of ``rows`` have each input outside its range, or None when none has.

        NaN is never outside (see :func:`nan_rows`). The common case, every value in range, skips the count.
        """
        import numpy

        flat = rows if self.tabular else rows.reshape(len(rows), -1)
        low, high = (self.low, self.high) if self.tabular else (self.low[0], self.high[0])
        bad = flat < low
        bad |= flat > high
        if not bad.any():
            return None
        return bad.sum(axis=0) if self.tabular else numpy.array([bad.any(axis=1).sum()])


def nan_rows(signature: Signature, rows) -> Any:
    """How many of ``rows`` hold NaN in each input of :func:`names_of` (a model that takes NaN: others refuse it)."""
    import numpy

    if signature.kind == "tabular":
        return numpy.isnan(rows).sum(axis=0)
    return numpy.array([numpy.isnan(rows.reshape(len(rows), -1)).any(axis=1).sum()])
