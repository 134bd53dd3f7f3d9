"""Saving a model into the run being recorded: ``kit.save_model``, with its signature and lineage beside it."""

from __future__ import annotations

import dataclasses
import os
import platform
from pathlib import Path

from kit import settings
from kit.errors import ReferenceSetError, TrainingDataError
from kit.models import formats, ranges, signature
from kit.models import reference as references
from kit.record import inputs, lineage
from kit.record.hashing import sha256
from kit.record.jsonfile import read_json, write_json
from kit.record.manifest import content_sha256
from kit.tracking import inputs as capture
from kit.tracking.current import artifact_path, current
from kit.version import __version__


def save_model(model, name: str = "model", *, reference=None, training=None) -> Path:
    """Save ``model`` as the artifact ``name.keras`` (Keras) or ``name.skops`` (scikit-learn); return its path.

    Its input signature (the features it was trained on, or its input shape) goes beside it as
    ``name.signature.json``, which ``kit serve`` and ``kit predict`` enforce, and its lineage (the run, notebook,
    parameters, inputs and environment that made it) as ``name.lineage.json``, which ``kit lineage`` shows.
    ``reference``: a few held-out rows (up to 1000); they and the model's outputs on them, computed here, are kept as
    ``name.reference.npz``, on which ``make model-image`` checks that the image predicts what the run did.
    ``training``: the rows the model was fit on (a DataFrame or an array, e.g. ``training=X_train``); each feature's
    smallest and largest value in them (a tensor model's: over its whole input) go into the signature, and the
    server counts in ``/metrics`` the values it is sent outside them. Without it the model is served the same,
    with no such counts.
    """
    suffix = formats.suffix_of(model)
    try:
        found = signature.of_model(model)
    except ValueError:
        found = None  # a model that is not fitted has no signature: it can still be loaded, not served
    if training is not None:  # checked before anything is written: a mistake here leaves no model half saved
        if found is None:
            raise TrainingDataError("needs a fitted model", "fit the model, then save it with training=X_train")
        found = dataclasses.replace(found, ranges=ranges.of_training(found, training))
    path = artifact_path(name if name.endswith(suffix) else name + suffix)
    formats.save(model, path)
    if found is not None:
        write_json(path.with_name(path.stem + signature.SUFFIX), found.to_dict())
    if reference is not None:
        if found is None:
            raise ReferenceSetError("needs a fitted model", "fit the model, then save it with reference=rows")
        rows = references.rows_for(found, reference)
        references.save(references.path_of(path), rows, references.outputs(model, found, rows))
    write_json(lineage.path_of(path), lineage_of(path))
    return path


def _read(path: Path) -> dict:
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def recorded_inputs() -> list[dict]:
    """The inputs the run has read so far (not the files it wrote itself), each with its path, size and sha256."""
    journal = current().inputs_log
    if not journal.exists():
        return []
    found, _ = inputs.fold(journal)
    return [
        {"path": entry.path, "resolved": entry.resolved, "size": entry.size, "sha256": entry.identity}
        for entry in found
        if not entry.written
    ]


def lineage_of(model: Path) -> dict:
    """The lineage of the model just saved at ``model``, from the record being written (see kit.record.lineage)."""
    record = current()
    status = _read(record.status)
    notebook = status.get("notebook_path")
    try:
        with capture.unobserved():  # the notebook is the run's code, not an input it read
            notebook_sha256 = sha256(notebook) if notebook else None
    except OSError:
        notebook_sha256 = None
    content = content_sha256(model)
    lock = settings.IMAGE_LOCK
    return {
        "model": {"file": model.name, "sha256": sha256(model), "content_sha256": content[0] if content else None},
        "run_id": os.environ.get(settings.RUN_ID_ENV),
        "notebook": {"path": status.get("notebook"), "resolved": notebook, "sha256": notebook_sha256},
        "parameters": _read(record.params),
        "inputs": recorded_inputs(),
        "environment": {
            "lock_sha256": sha256(lock) if lock.is_file() else None,
            "python": platform.python_version(),
            "kit": __version__,
        },
    }
