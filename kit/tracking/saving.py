"""Saving a model into the run being recorded: ``kit.save_model``, with the signature servers enforce beside it."""

from __future__ import annotations

from pathlib import Path

from kit.models import formats, signature
from kit.record.jsonfile import write_json
from kit.tracking.current import artifact_path


def save_model(model, name: str = "model") -> Path:
    """Save ``model`` as the artifact ``name.keras`` (Keras) or ``name.skops`` (scikit-learn); return its path.

    Its input signature (the features it was trained on, or its input shape) goes beside it as
    ``name.signature.json``, which ``kit serve`` and ``kit predict`` enforce.
    """
    suffix = formats.suffix_of(model)
    path = artifact_path(name if name.endswith(suffix) else name + suffix)
    formats.save(model, path)
    try:
        write_json(path.with_name(path.stem + signature.SUFFIX), signature.of_model(model).to_dict())
    except ValueError:
        pass  # a model that is not fitted has no signature: it can still be loaded, not served
    return path
