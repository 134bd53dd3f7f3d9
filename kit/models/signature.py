"""A model's input signature: what it takes and gives, recorded when it is saved and enforced when it serves.

``kit.save_model`` writes it beside the model (``NAME.signature.json``, an artifact like any other, so the manifest
hashes it): for a scikit-learn model, the training features by name (``feature_names_in_``) and whether it takes
NaN; for a Keras model, its input shape and datatype. Outputs: the label, and class probabilities where the model
has them. With the training data (``kit.save_model(..., training=X_train)``), each input's training range
(:mod:`.ranges`), which the server's ``/metrics`` counts values outside of; a signature saved without one (or by an
older kit) has none, and is served just the same. Datatypes are the Open Inference Protocol's (``FP64``,
``INT64``, ``BYTES``, ...: :mod:`.datatypes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kit.models import datatypes
from kit.models.formats import is_keras
from kit.record import codec

#: The file beside a model: ``model.skops`` has ``model.signature.json``.
SUFFIX = ".signature.json"
FORMAT = 1
KINDS = ("tabular", "tensor")


@dataclass(frozen=True)
class Tensor(codec.Encodable):
    """One named input or output: its Open Inference Protocol datatype and shape (-1: any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Range(codec.Encodable):
    """The finite values one input took in training: a feature's, or all of a tensor model's input (:mod:`.ranges`)."""

    input: str
    min: float
    max: float


@dataclass(frozen=True)
class Signature(codec.Encodable):
    """What a model takes and gives.

    ``kind`` is ``tabular`` (one FP64 input per feature, each of shape [-1]: rows of named features) or ``tensor``
    (one input of a fixed shape per row, such as [-1, 8, 8, 1] for 8x8 images). ``classes`` are a classifier's
    labels in the order of its probabilities (None for a regressor).
    """

    kind: str
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    classes: tuple[Any, ...] | None = None
    allow_nan: bool = False
    framework: str = "sklearn"
    #: Each input's training range (None: saved without training data, or by a kit before ranges).
    ranges: tuple[Range, ...] | None = None
    format: int = FORMAT
    #: Fields this version does not know (written by a newer kit): kept as they were.
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def features(self) -> tuple[str, ...]:
        return tuple(tensor.name for tensor in self.inputs)

    @cached_property
    def feature_set(self) -> frozenset[str]:
        return frozenset(self.features)

    @classmethod
    def from_dict(cls, data: Any) -> Signature:
        """ValueError (naming the field) when ``data`` is not a signature."""
        try:
            signature = super().from_dict(data)
        except ValueError as error:
            raise ValueError(f"is not a model signature ({error})") from None
        if signature.kind not in KINDS:
            raise ValueError(f"is not a model signature (its kind is not {' or '.join(map(repr, KINDS))})")
        for item in signature.ranges or ():
            if item.input not in signature.feature_set or not item.min <= item.max:
                raise ValueError(f"is not a model signature (its range of {item.input[:40]!r} is not one of its inputs"
                                 " from a minimum to a maximum)")  # fmt: skip
        return signature


def _outputs(classes) -> tuple[Tensor, ...]:
    if classes is None:
        return (Tensor("prediction", "FP64", (-1,)),)
    return (Tensor("label", datatypes.of(classes.dtype), (-1,)), Tensor("probabilities", "FP64", (-1, len(classes))))


def _sklearn(model) -> Signature:
    import numpy
    from sklearn.base import is_classifier
    from sklearn.utils import get_tags

    names = getattr(model, "feature_names_in_", None)
    count = getattr(model, "n_features_in_", None)
    if names is None and count is None:
        raise ValueError("it is not fitted (no n_features_in_): save it after fit()")
    names = [str(name) for name in names] if names is not None else [f"x{index}" for index in range(count)]
    classes = numpy.asarray(model.classes_) if is_classifier(model) and hasattr(model, "predict_proba") else None
    return Signature(
        kind="tabular",
        inputs=tuple(Tensor(name, "FP64", (-1,)) for name in names),
        outputs=_outputs(classes),
        classes=tuple(classes.tolist()) if classes is not None else None,
        allow_nan=bool(get_tags(model).input_tags.allow_nan),
        framework="sklearn",
    )


def _keras(model) -> Signature:
    import numpy

    if len(model.inputs) != 1:
        raise ValueError("it has several inputs: kit serves models with one")
    tensor = model.inputs[0]
    shape = tuple(-1 if size is None else int(size) for size in tensor.shape)
    width = model.outputs[0].shape[-1] if len(model.outputs) == 1 else None
    classes = numpy.arange(width) if width and width > 1 else None
    return Signature(
        kind="tensor",
        inputs=(Tensor("input", datatypes.of(str(tensor.dtype)), shape),),
        outputs=_outputs(classes),
        classes=tuple(classes.tolist()) if classes is not None else None,
        framework="keras",
    )


def of_model(model) -> Signature:
    """The signature of a fitted scikit-learn model or a built Keras model; ValueError when it has none."""
    return _keras(model) if is_keras(model) else _sklearn(model)
