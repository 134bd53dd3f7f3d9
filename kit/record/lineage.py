"""A model's lineage: which run, notebook, parameters, inputs and environment made it; kept beside the model.

``kit.save_model(model, "model")`` writes ``model.lineage.json`` beside ``model.keras`` (or ``.skops``)::

    {"model": {"file": "model.keras", "sha256": "…", "content_sha256": "…"},
     "run_id": "…", "notebook": {"path": "notebooks/train_images.ipynb", "sha256": "…"},
     "parameters": {…}, "inputs": [{"path": "…", "size": …, "sha256": "…"}, …],
     "environment": {"lock_sha256": "…", "python": "3.11.2", "kit": "0.3.0"}}

Its sha256 (the manifest's, like every artifact's) is *the* lineage digest: the model image carries it in the
label ``io.kit.lineage.sha256``, ``kit deploy`` in the annotation ``kit.dev/lineage-sha256``, and the model
server returns the lineage itself in its metadata. What a re-execution (``kit verify``) cannot keep, the run's id
the notebook it ran from and the environment (shown apart), is left out of the lineage's content hash, so a
verified run still reproduces it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

SUFFIX = ".lineage.json"
#: The OCI label of a model image and the annotation of its Deployment that carry the lineage's sha256.
IMAGE_LABEL = "io.kit.lineage.sha256"
ANNOTATION = "kit.dev/lineage-sha256"


def path_of(model: Path) -> Path:
    """Where the lineage of the model saved at ``model`` is: ``model.lineage.json`` beside ``model.keras``."""
    return model.with_name(model.stem + SUFFIX)


def is_lineage(name: str) -> bool:
    return name.endswith(SUFFIX)


def content_sha256(data: dict) -> str:
    """A hash of what a re-execution must give again: the model's content, the parameters, the inputs' contents.

    Not the run's id, the notebook it ran from (``kit verify`` runs the recorded one) or the environment, whose
    differences ``kit verify`` shows apart.
    """
    model = data.get("model") if isinstance(data.get("model"), dict) else {}
    inputs = [(item.get("path"), item.get("sha256")) for item in data.get("inputs") or [] if isinstance(item, dict)]
    kept = {
        "model": model.get("content_sha256") or model.get("sha256"),
        "parameters": data.get("parameters"),
        "inputs": sorted(inputs, key=str),
    }
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


def check(data: Any) -> dict:
    """``data`` if it has a lineage's shape; ValueError naming what is wrong otherwise."""
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object")
    for key, kind in (("model", dict), ("notebook", dict), ("parameters", dict), ("inputs", list),
                      ("environment", dict)):  # fmt: skip
        if data.get(key) is not None and not isinstance(data[key], kind):
            raise ValueError(f"has {key!r} of the wrong type ({type(data[key]).__name__})")
    return data
