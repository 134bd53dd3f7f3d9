"""The files a model is saved in, and loading them back without unpickling anything untrusted.

scikit-learn models are saved with skops, whose loader refuses types it does not trust instead of running
arbitrary code; types beyond skops' defaults are trusted only for a file whose hash matches the manifest of the
run that saved it. Keras models are saved as ``.keras`` and loaded in Keras' safe mode.
"""

from __future__ import annotations

from pathlib import Path

from kit.errors import ModelError, ModelNotFound, UntrustedModel
from kit.record import layout
from kit.record.hashing import sha256
from kit.record.jsonfile import read_json
from kit.record.schema import check_manifest

#: The formats kit saves and loads models in (:func:`kit.save_model` picks one by the model's library).
SUFFIXES = (".keras", ".skops")


def is_keras(model) -> bool:
    return any(cls.__module__.split(".")[0] in ("keras", "tf_keras") for cls in type(model).__mro__)


def suffix_of(model) -> str:
    """The file suffix ``model`` is saved with: ``.keras`` for a Keras model, ``.skops`` for anything else."""
    return ".keras" if is_keras(model) else ".skops"


def save(model, path: Path) -> None:
    """Write ``model`` to ``path`` in the format its suffix names (see :func:`suffix_of`)."""
    if path.suffix == ".keras":
        model.save(path)
    else:
        import skops.io

        skops.io.dump(model, path)


def _recorded(path: Path) -> bool:
    """Whether ``path`` is an artifact of a finished run and still has the bytes its manifest lists."""
    for run in path.parents:
        if (run / layout.ARTIFACTS) in (path, *path.parents) and (run / layout.MANIFEST).is_file():
            try:
                manifest = check_manifest(read_json(run / layout.MANIFEST))
            except (OSError, ValueError):
                return False  # a damaged manifest vouches for nothing
            entry = manifest.get(path.relative_to(run / layout.ARTIFACTS).as_posix())
            return bool(entry) and entry["sha256"] == sha256(path)
    return False


def load_model(path, *, trusted: list[str] | None = None):
    """Load a model saved by :func:`kit.save_model` (from a run's ``artifacts/``, or any ``.keras``/``.skops`` file).

    ``trusted`` names extra types to allow in a ``.skops`` file that is not an unchanged artifact of a run.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ModelNotFound(path)
    if path.suffix == ".keras":
        import keras

        return keras.saving.load_model(path)
    if path.suffix != ".skops":
        raise ModelError(path, f"{path.name}: kit loads {' and '.join(SUFFIXES)} models: save it with kit.save_model")
    import skops.io

    untrusted = [name for name in skops.io.get_untrusted_types(file=path) if name not in (trusted or [])]
    if untrusted and not _recorded(path):
        raise UntrustedModel(path, untrusted)
    return skops.io.load(path, trusted=untrusted + list(trusted or []))
