"""The parity gate: this model, loaded here, must predict the run's reference set as the run did, bit for bit.

The rows are predicted block by block as the run predicted them (:mod:`kit.models.predicting`: the same calls of
the same shapes, the same bits), through :meth:`kit.serving.model.ServedModel.predict`, the server's own path.
``make model-image`` runs ``kit parity`` in the image it built and refuses the image when any output differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kit.errors import ModelError, ParityFailed, TamperedModel
from kit.models import reference
from kit.record.hashing import sha256
from kit.serving.model import ServedModel
from kit.shorten import short


@dataclass(frozen=True)
class Parity:
    """How many reference rows were predicted, and the first difference per output (empty: all the same)."""

    rows: int
    outputs: tuple[str, ...]
    #: (output, rows that differ, the first one: its index, the run's value, the value here)
    differences: tuple[tuple[str, int, int, str, str], ...]


def reference_path(served: ServedModel) -> Path | None:
    """The run's reference set, checked against its manifest; None when the run kept none."""
    name = reference.path_of(Path(served.path.name)).name
    entry = served.run.manifest.get(name)
    if entry is None:
        return None
    path = served.run.layout.artifacts / name
    actual = sha256(path)
    if actual != entry["sha256"]:
        raise TamperedModel(path, entry["sha256"], actual)
    return path


def _rows_differing(expected, got) -> list[int]:
    """The rows whose outputs are not the expected bits (text labels as text); all, on another shape or dtype."""
    import numpy

    expected, got = numpy.asarray(expected), numpy.asarray(got)
    if expected.dtype.kind == "U":
        got = got.astype(str)
    if expected.shape != got.shape or expected.dtype != got.dtype:
        return list(range(len(expected)))
    if expected.dtype.kind == "U":
        same = expected == got
    else:
        same = numpy.ascontiguousarray(expected).view(numpy.uint8) == numpy.ascontiguousarray(got).view(numpy.uint8)
    return numpy.flatnonzero(~same.reshape(len(expected), -1).all(axis=1)).tolist()


def check(served: ServedModel) -> Parity:
    """Predict the run's reference set here and compare; ModelError when the run kept none or the model fails."""
    path = reference_path(served)
    if path is None:
        raise ModelError(served.path, f"run {served.run.id} kept no reference set: save the model with "
                         "kit.save_model(model, reference=held_out_rows) and train again")  # fmt: skip
    try:
        rows, expected = reference.load(path)
    except ValueError as error:
        raise ModelError(path, f"{path.name} of run {served.run.id} {error}") from None
    if not served.ready and not served.load().ready:
        raise ModelError(served.path, f"the model of run {served.run.id} cannot be loaded: {served.error}")
    import numpy

    got = served.predict(rows)
    differences = []
    for name, values in expected.items():
        if name not in got:
            differences.append((name, len(rows), 0, short(values[0].tolist(), 40), "(not given)"))
            continue
        differing = _rows_differing(values, got[name])
        if differing:
            first = differing[0]
            differences.append((name, len(differing), first, short(values[first].tolist(), 40),
                                short(numpy.asarray(got[name])[first].tolist(), 40)))  # fmt: skip
    return Parity(len(rows), tuple(expected), tuple(differences))


def require(served: ServedModel) -> Parity:
    """:func:`check`, raising ParityFailed when any output differs."""
    found = check(served)
    if found.differences:
        name, count, row, was, now = found.differences[0]
        raise ParityFailed(served.run.id, count, found.rows, f"{name} of row {row}: {was} in the run, {now} here")
    return found
