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
from kit.models.signature import Signature
from kit.record import Run, find_run, lineage
from kit.record.jsonfile import read_json
from kit.record.manifest import sha256


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
    #: Whether a row's outputs are the same bits wherever it is in a block (so batching cannot change them).
    bit_identical: bool | None = None
    #: Whether a call of several whole blocks gives each row the bits of its block alone (then large inputs are
    #: predicted up to MAX_BLOCKS blocks a call, not one block a call: hundreds of times faster).
    block_multiples: bool = False
    _labels_from_probabilities: bool = False
    _loaded: threading.Event = field(default_factory=threading.Event, repr=False)

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
            if self.signature.framework == "sklearn":
                self._labels_from_probabilities = _argmax_predicts(self.model)
            self.bit_identical, self.block_multiples = self._check_blocks()
            self.load_seconds = time.perf_counter() - started
        except Exception as error:  # skops, Keras and the signature raise many types for a file they cannot read
            self.model, self.error = None, f"{type(error).__name__}: {str(error)[:200]}"
        self._loaded.set()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout) and self.model is not None

    def predict(self, rows) -> dict[str, Any]:
        """The model's outputs for ``rows`` (an array the signature accepts): label and probabilities, or prediction.

        The rows go to the model in whole blocks of :data:`BLOCK` rows (the last one padded with copies of its last
        row): BLAS and scikit-learn give other last bits for other batch sizes, never for another position in a
        block (checked when the model loads: :attr:`bit_identical`), nor, for most models, in a call of several
        whole blocks (:attr:`block_multiples`; else one block a call). So a row's outputs are the same bits alone,
        in a request of 1,000 rows, batched with other requests, or in ``kit predict``.
        """
        import numpy

        count = len(rows)
        per_call = min(-(-count // BLOCK), MAX_BLOCKS) * BLOCK if self.block_multiples else BLOCK
        blocks = []
        for start in range(0, count, per_call):
            size = min(per_call, count - start)
            # Always a C-ordered array of its own, whole blocks, the last padded with copies of its last row: another
            # memory layout or a ragged tail takes another BLAS path (other bits).
            block = numpy.empty((-(-size // BLOCK) * BLOCK, *rows.shape[1:]), dtype=rows.dtype)
            block[:size] = rows[start : start + size]
            block[size:] = rows[start + size - 1]
            blocks.append({name: array[:size] for name, array in self._predict(block).items()})
        if len(blocks) == 1:
            return blocks[0]
        return {name: numpy.concatenate([block[name] for block in blocks]) for name in blocks[0]}

    def _check_blocks(self) -> tuple[bool, bool]:
        """Whether a row's outputs are the same bits anywhere in a block; and in a call of several whole blocks.

        Probed with seeded random rows when the model loads, in milliseconds.
        """
        import warnings

        import numpy

        signature = self.signature
        per_row = [len(signature.features)] if signature.kind == "tabular" else list(signature.inputs[0].shape[1:])
        rows = numpy.random.default_rng(0).standard_normal((2 * BLOCK, *per_row))
        if not getattr(_configured, "done", False):  # its warning filter outside catch_warnings, which would undo it
            _fast_sklearn()
        with warnings.catch_warnings(), numpy.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            together = self._predict(rows[:BLOCK].copy())
            for position in (0, 7, BLOCK - 1):  # a few calls: Keras takes milliseconds for each
                alone = numpy.empty_like(rows[:BLOCK])
                alone[:] = rows[position]
                alone = self._predict(alone)
                if any(alone[name][0].tobytes() != together[name][position].tobytes() for name in together):
                    return False, False
            several = self._predict(rows)
            blocks = [self._predict(rows[start : start + BLOCK].copy()) for start in range(0, len(rows), BLOCK)]
            same = all(numpy.concatenate([block[name] for block in blocks]).tobytes() == several[name].tobytes()
                       for name in several)  # fmt: skip
        return True, same

    def _predict(self, rows) -> dict[str, Any]:
        import numpy

        if self.signature.framework == "keras":
            scores = numpy.asarray(self.model(rows.astype(numpy.float32, copy=False), training=False))
            if self.signature.classes is None:
                return {"prediction": scores.reshape(len(rows), -1)[:, 0].astype(numpy.float64)}
            return {"label": scores.argmax(axis=1).astype(numpy.int64), "probabilities": scores.astype(numpy.float64)}
        if not getattr(_configured, "done", False):
            _fast_sklearn()
        if self.signature.classes is None:
            return {"prediction": numpy.asarray(self.model.predict(rows), dtype=numpy.float64)}
        probabilities = self.model.predict_proba(rows)
        if self._labels_from_probabilities:  # the model's own predict() is this argmax: one call instead of two
            return {"label": self.model.classes_[probabilities.argmax(axis=1)], "probabilities": probabilities}
        return {"label": numpy.asarray(self.model.predict(rows)), "probabilities": probabilities}

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
            rows = ~numpy.isfinite(array).reshape(len(array), -1).all(axis=1)
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


#: Rows per call of the model: every call has this shape, so the same row gives the same bits (see predict).
BLOCK = 64
#: The most blocks in one call of the model (a model that keeps its bits in several blocks): 8,192 rows.
MAX_BLOCKS = 128

#: Classifiers whose predict() is, by its definition in scikit-learn, the class of the largest probability.
ARGMAX_CLASSIFIERS = {
    "LogisticRegression", "RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier",
    "ExtraTreeClassifier", "GradientBoostingClassifier", "HistGradientBoostingClassifier", "KNeighborsClassifier",
    "GaussianNB", "MultinomialNB", "BernoulliNB", "MLPClassifier",
}  # fmt: skip


def _argmax_predicts(model) -> bool:
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return type(final).__name__ in ARGMAX_CLASSIFIERS and type(final).__module__.startswith("sklearn.")


#: scikit-learn's configuration is per thread: each thread that predicts sets it once.
_configured = threading.local()


def _fast_sklearn() -> None:
    """Rows arrive checked (names, shape, finite): scikit-learn need not check them again for each request."""
    import warnings

    import sklearn

    sklearn.set_config(assume_finite=True, skip_parameter_validation=True)
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    _configured.done = True


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
