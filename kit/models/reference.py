"""A model's reference set: a few held-out rows and the model's outputs on them, as the run computed them.

``kit.save_model(model, reference=rows)`` keeps it beside the model as ``model.reference.npz``; the parity gate
(``kit parity``, run by ``make model-image`` in the image it built) predicts the same rows block by block, as the
run did (:mod:`kit.models.predicting`, the server's path too), and requires every output to be the run's, bit for
bit. The outputs are ``label`` and ``probabilities`` for a classifier, else ``prediction``. Read back with
``allow_pickle=False``: a reference set holds numbers and text only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kit.errors import ReferenceSetError
from kit.models.predicting import Predictor
from kit.models.signature import Signature

SUFFIX = ".reference.npz"
#: A reference set is checked on every image build: a few rows say whether the image predicts what the run did.
MAX_ROWS = 1000
ROWS = "rows"
OUTPUT_PREFIX = "output."


def path_of(model: Path) -> Path:
    """``model.reference.npz`` beside ``model.keras`` (or ``.skops``)."""
    return model.with_name(model.stem + SUFFIX)


def rows_for(signature: Signature, rows: Any):
    """``rows`` as the array a server predicts on: features in training order as float64, or float32 tensors."""
    import numpy

    if signature.kind == "tabular":
        if hasattr(rows, "columns"):  # a DataFrame: its columns by name, in the model's order
            missing = [name for name in signature.features if name not in set(rows.columns)]
            if missing:
                raise ReferenceSetError(
                    f"lacks the model's feature {missing[0]!r}", "pass held-out rows of its features"
                )
            rows = rows[list(signature.features)]
        array = numpy.asarray(rows, dtype=numpy.float64)
        if array.ndim != 2 or array.shape[1] != len(signature.features):
            raise ReferenceSetError(f"has shape {array.shape}", f"pass rows of the {len(signature.features)} features")
    else:
        array = numpy.ascontiguousarray(numpy.asarray(rows, dtype=numpy.float32))
    if not 1 <= len(array) <= MAX_ROWS:
        raise ReferenceSetError(f"has {len(array)} rows", f"keep 1 to {MAX_ROWS}, e.g. reference=x_test[:64]")
    return array


def outputs(model, signature: Signature, rows) -> dict[str, Any]:
    """What the model gives for ``rows``, as a server gives it: the same calls, blocks and dtypes, the same bits."""
    return Predictor.of(model, signature).predict(rows)


def _storable(array):
    import numpy

    array = numpy.asarray(array)
    return array.astype(str) if array.dtype.kind == "O" else array  # labels of text: kept as text, never pickled


def save(path: Path, rows, found: dict[str, Any]) -> None:
    import numpy

    with open(path, "wb") as file:
        numpy.savez(file, **{ROWS: rows}, **{OUTPUT_PREFIX + name: _storable(value) for name, value in found.items()})


def load(path: Path) -> tuple[Any, dict[str, Any]]:
    """The rows and the outputs the run computed; ValueError when the file is not a reference set."""
    import numpy

    try:
        with numpy.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, EOFError) as error:
        raise ValueError(f"is not a reference set ({error})") from None
    if ROWS not in arrays:
        raise ValueError("is not a reference set (it has no rows)")
    return arrays.pop(ROWS), {name.removeprefix(OUTPUT_PREFIX): value for name, value in arrays.items()}
