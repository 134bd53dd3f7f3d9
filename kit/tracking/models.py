"""Saving models as run artifacts and loading them back, without unpickling anything untrusted.

scikit-learn models are saved with skops, whose loader refuses types it does not trust instead of running
arbitrary code; types beyond skops' defaults are trusted only for a file whose hash matches the manifest of the
run that saved it. Keras models are saved as ``.keras`` and loaded in Keras' safe mode.
"""

from __future__ import annotations

from pathlib import Path

from kit.errors import ModelError, ModelNotFound, UntrustedModel
from kit.record import layout
from kit.record.jsonfile import read_json, write_json
from kit.record.manifest import sha256
from kit.record.schema import check_manifest
from kit.tracking.current import artifact_path

SUFFIXES = (".keras", ".skops")


def is_keras(model) -> bool:
    return any(cls.__module__.split(".")[0] in ("keras", "tf_keras") for cls in type(model).__mro__)


def save_model(model, name: str = "model") -> Path:
    """Save ``model`` as the artifact ``name.keras`` (Keras) or ``name.skops`` (scikit-learn); return its path.

    Its input signature (the features it was trained on, or its input shape) goes beside it as
    ``name.signature.json``, which ``kit serve`` and ``kit predict`` enforce.
    """
    from kit.serving import signature

    suffix = ".keras" if is_keras(model) else ".skops"
    path = artifact_path(name if name.endswith(suffix) else name + suffix)
    if suffix == ".keras":
        model.save(path)
    else:
        import skops.io

        skops.io.dump(model, path)
    try:
        write_json(path.with_name(path.stem + signature.SUFFIX), signature.of_model(model).to_dict())
    except ValueError:
        pass  # a model that is not fitted has no signature: it can still be loaded, not served
    return path


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
    """Load a model saved by :func:`save_model` (from a run's ``artifacts/``, or any ``.keras``/``.skops`` file).

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
