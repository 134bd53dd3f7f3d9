"""How kit calls a model on rows, in one place: the server, ``kit predict``, and the reference set a run keeps.

The model is always called on whole, C-ordered blocks of :data:`BLOCK` rows (the last one padded with copies of its
last row): BLAS and scikit-learn give other last bits for other batch sizes and memory layouts, never for another
position in a block. So a row's outputs are the same bits alone, in a request of 1,000 rows, batched with other
requests, in ``kit predict``, and in the reference set ``kit.save_model`` computes in the notebook, which the
parity gate then compares with what the model image serves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from kit.models.signature import Signature

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


@dataclass
class Predictor:
    """A loaded model and its signature, called block by block (see the module's docstring)."""

    model: Any
    signature: Signature
    #: The server's threads skip scikit-learn's checks of rows it has checked already (a per-thread setting); in a
    #: notebook's kernel (``fast`` false) the user's scikit-learn configuration is left alone.
    fast: bool = False
    #: Whether a row's outputs are the same bits wherever it is in a block (so batching cannot change them).
    bit_identical: bool = False
    #: Whether a call of several whole blocks gives each row the bits of its block alone (then large inputs are
    #: predicted up to MAX_BLOCKS blocks a call, not one block a call: hundreds of times faster).
    block_multiples: bool = False
    labels_from_probabilities: bool = False

    @classmethod
    def of(cls, model: Any, signature: Signature, *, fast: bool = False) -> Predictor:
        """A predictor of ``model``, its blocks probed (milliseconds)."""
        predictor = cls(model, signature, fast=fast)
        if signature.framework == "sklearn":
            predictor.labels_from_probabilities = _argmax_predicts(model)
        predictor.bit_identical, predictor.block_multiples = predictor._check_blocks()
        return predictor

    def predict(self, rows) -> dict[str, Any]:
        """The model's outputs for ``rows`` (an array the signature accepts): label and probabilities, or prediction.

        The rows go to the model in whole blocks of :data:`BLOCK` rows (the last one padded with copies of its last
        row): BLAS and scikit-learn give other last bits for other batch sizes, never for another position in a
        block (checked when the predictor is made: :attr:`bit_identical`), nor, for most models, in a call of several
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

        Probed with seeded random rows when the predictor is made, in milliseconds.
        """
        import warnings

        import numpy

        signature = self.signature
        per_row = [len(signature.features)] if signature.kind == "tabular" else list(signature.inputs[0].shape[1:])
        rows = numpy.random.default_rng(0).standard_normal((2 * BLOCK, *per_row))
        if self.fast and not getattr(_configured, "done", False):  # its filter outside catch_warnings, which undoes it
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
        import warnings

        import numpy

        if self.signature.framework == "keras":
            scores = numpy.asarray(self.model(rows.astype(numpy.float32, copy=False), training=False))
            if self.signature.classes is None:
                return {"prediction": scores.reshape(len(rows), -1)[:, 0].astype(numpy.float64)}
            return {"label": scores.argmax(axis=1).astype(numpy.int64), "probabilities": scores.astype(numpy.float64)}
        if not self.fast:  # in a notebook's kernel: the user's configuration of scikit-learn stays as it is
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="X does not have valid feature names")
                return self._predict_sklearn(rows)
        if not getattr(_configured, "done", False):
            _fast_sklearn()
        return self._predict_sklearn(rows)

    def _predict_sklearn(self, rows) -> dict[str, Any]:
        import numpy

        if self.signature.classes is None:
            return {"prediction": numpy.asarray(self.model.predict(rows), dtype=numpy.float64)}
        probabilities = self.model.predict_proba(rows)
        if self.labels_from_probabilities:  # the model's own predict() is this argmax: one call instead of two
            return {"label": self.model.classes_[probabilities.argmax(axis=1)], "probabilities": probabilities}
        return {"label": numpy.asarray(self.model.predict(rows)), "probabilities": probabilities}
