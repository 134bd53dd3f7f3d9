"""A run's model, checked against the run's manifest before anything loads it, then loaded and called.

:func:`open_model` finds the model the run saved and checks that its bytes (and its signature's) still hash to
what the manifest recorded: a changed or missing file refuses, one line (exit 2 on the command line), before any
byte of it is deserialized. :meth:`ServedModel.load` loads it through :func:`kit.load_model` (skops or Keras'
safe mode: never unpickled) and :meth:`ServedModel.predict` gives its outputs for an array of rows.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.errors import ModelError, ModelNotFound, TamperedModel
from kit.models import SUFFIXES, load_model
from kit.models import signature as signatures
from kit.models.predicting import BLOCK, Predictor
from kit.models.signature import Signature
from kit.record import Run, find_run, lineage
from kit.record.hashing import sha256
from kit.record.jsonfile import read_json


def _model_artifact(run: Run) -> str:
    """The name of the model the run saved: ``model.skops`` or ``model.keras``, else its only model."""
    models = [name for name in run.manifest if Path(name).suffix in SUFFIXES]
    preferred = [name for name in models if Path(name).stem == "model"]
    if not models:
        raise ModelNotFound(run.path / "artifacts" / "model.skops")
    if len(preferred) != 1 and len(models) != 1:
        raise ModelError(run.path, f"run {run.id} saved several models ({', '.join(models[:4])}): keep one")
    return (preferred or models)[0]


def _checked(run: Run, name: str) -> tuple[Path, str]:
    """The artifact's path and sha256, if its bytes are those the manifest recorded."""
    path = run.layout.artifacts / name
    try:
        digest = sha256(path)
    except OSError:
        raise ModelNotFound(path) from None
    if digest != run.manifest[name]["sha256"]:
        raise TamperedModel(path, run.manifest[name]["sha256"], digest)
    return path, digest


@dataclass
class ServedModel:
    """A run's model: where it is, its hash, its signature, and (once :meth:`load` ran) the model itself."""

    run: Run
    path: Path
    sha256: str
    name: str
    signature: Signature | None
    #: What made the model (kit.record.lineage) and the sha256 of its file; None for a run saved before kit kept it.
    lineage: dict | None = None
    lineage_sha256: str | None = None
    model: Any = None
    load_seconds: float | None = None
    error: str | None = None
    #: How the loaded model is called (once :meth:`load` ran).
    predictor: Predictor | None = None
    _loaded: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def bit_identical(self) -> bool | None:
        """Whether a row's outputs are the same bits wherever it is in a block; None until loaded."""
        return self.predictor.bit_identical if self.predictor is not None else None

    @property
    def ready(self) -> bool:
        return self._loaded.is_set() and self.model is not None

    def load(self) -> ServedModel:
        """Load the model (seconds for TensorFlow); keep the error instead of raising, for a server to report."""
        started = time.perf_counter()
        try:
            self.model = load_model(self.path)
            if self.signature is None:  # a run saved before kit recorded signatures
                self.signature = signatures.of_model(self.model)
            self.predictor = Predictor.of(self.model, self.signature, fast=True)
            self.load_seconds = time.perf_counter() - started
        except Exception as error:  # skops, Keras and the signature raise many types for a file they cannot read
            self.model, self.error = None, f"{type(error).__name__}: {str(error)[:200]}"
        self._loaded.set()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout) and self.model is not None

    def predict(self, rows) -> dict[str, Any]:
        """The model's outputs for ``rows`` (an array the signature accepts): label and probabilities, or prediction.

        Called block by block (:mod:`kit.models.predicting`), so a row's outputs are the same bits alone, in a
        request of 1,000 rows, batched with other requests, or in ``kit predict``.
        """
        return self.predictor.predict(rows)

    @staticmethod
    def nonfinite_rows(outputs: dict[str, Any]) -> list[int]:
        """The indices of the rows whose outputs (from :meth:`predict`) hold NaN or an infinity, in order.

        Finite inputs can still give them (a linear model of values near 1e308 overflows): such a row has no
        answer, and ``kit predict`` and the server refuse it, naming it, instead of giving ``nan``.
        """
        import numpy

        bad = None
        for array in outputs.values():
            array = numpy.asarray(array)
            if array.dtype.kind not in "fc" or array.ndim == 0:  # labels (integers, text) are always finite
                continue
            finite = numpy.isfinite(array)
            if finite.all():  # as almost always: no row to find
                continue
            rows = ~finite.reshape(len(array), -1).all(axis=1)
            bad = rows if bad is None else bad | rows
        return [] if bad is None else numpy.flatnonzero(bad).tolist()

    def metadata(self) -> dict:
        """The model's metadata (Open Inference Protocol), with what the run recorded about it."""
        signature = self.signature
        return {
            "name": self.name,
            "versions": [self.run.id],
            "platform": f"kit-{signature.framework if signature else 'unknown'}",
            "inputs": [tensor.to_dict() for tensor in signature.inputs] if signature else [],
            "outputs": [tensor.to_dict() for tensor in signature.outputs] if signature else [],
            "parameters": {
                "run_id": self.run.id,
                "notebook": self.run.info.notebook,
                "model_file": self.path.name,
                "model_sha256": self.sha256,
                "classes": list(signature.classes) if signature and signature.classes is not None else None,
                "run_parameters": self.run.params,
                "metrics": self.run.metrics,
                "lineage": self.lineage,
                "lineage_sha256": self.lineage_sha256,
                "batching": {"rows_per_block": BLOCK, "bit_identical": self.bit_identical},
            },
        }


def open_model(run: str | os.PathLike | Run, runs_dir: str | os.PathLike | None = None, *, name: str | None = None):
    """The model ``run`` saved, checked against its manifest (not loaded yet); KitError saying what is wrong."""
    run = run if isinstance(run, Run) else find_run(run, runs_dir)
    run.check(notebook=False)
    if not run.succeeded:
        raise ModelError(run.path, f"run {run.id} {run.status.value}: serve a run that succeeded")
    artifact = _model_artifact(run)
    path, digest = _checked(run, artifact)
    signature = None
    recorded = Path(artifact).stem + signatures.SUFFIX
    if recorded in run.manifest:
        signature_path, _ = _checked(run, recorded)
        try:
            signature = Signature.from_dict(read_json(signature_path))
        except (OSError, ValueError) as error:
            raise ModelError(signature_path, f"{signature_path.name} of run {run.id} {error}") from None
    model_name = name if name is not None else Path(run.info.notebook).stem or "model"
    served = ServedModel(run, path, digest, model_name, signature)
    if (recorded := lineage.path_of(Path(artifact)).name) in run.manifest:
        lineage_path, served.lineage_sha256 = _checked(run, recorded)
        try:
            served.lineage = lineage.check(read_json(lineage_path))
        except (OSError, ValueError) as error:
            raise ModelError(lineage_path, f"{lineage_path.name} of run {run.id} {error}") from None
    return served
