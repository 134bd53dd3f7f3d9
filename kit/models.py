"""Saving models as run artifacts and loading them back, without unpickling anything untrusted.

scikit-learn models are saved with skops, whose loader refuses types it does not trust instead of running
arbitrary code; types beyond skops' defaults are trusted only for a file whose hash matches the manifest of the
run that saved it. Keras models are saved as ``.keras`` and loaded in Keras' safe mode.
"""

from __future__ import annotations

from pathlib import Path

from kit import artifacts, settings
from kit.errors import KitError
from kit.record import read_json
from kit.tracking import artifact_path

SUFFIXES = (".keras", ".skops")


def _is_keras(model) -> bool:
    return any(cls.__module__.split(".")[0] in ("keras", "tf_keras") for cls in type(model).__mro__)


def save_model(model, name: str = "model") -> Path:
    """Save ``model`` as the artifact ``name.keras`` (Keras) or ``name.skops`` (scikit-learn); return its path."""
    suffix = ".keras" if _is_keras(model) else ".skops"
    path = artifact_path(name if name.endswith(suffix) else name + suffix)
    if suffix == ".keras":
        model.save(path)
    else:
        import skops.io

        skops.io.dump(model, path)
    return path


def _recorded(path: Path) -> bool:
    """Whether ``path`` is an artifact of a finished run and still has the bytes its manifest lists."""
    for run in path.parents:
        if (run / settings.ARTIFACTS) in (path, *path.parents) and (run / settings.MANIFEST).is_file():
            entry = read_json(run / settings.MANIFEST, {}).get(path.relative_to(run / settings.ARTIFACTS).as_posix())
            return bool(entry) and entry["sha256"] == artifacts.sha256(path)
    return False


def load_model(path, *, trusted: list[str] | None = None):
    """Load a model saved by :func:`save_model` (from a run's ``artifacts/``, or any ``.keras``/``.skops`` file).

    ``trusted`` names extra types to allow in a ``.skops`` file that is not an unchanged artifact of a run.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise KitError(f"no model file {path}: pass RUN/artifacts/NAME.keras or .skops (kit runs show RUN lists them)")
    if path.suffix == ".keras":
        import keras

        return keras.saving.load_model(path)
    if path.suffix != ".skops":
        raise KitError(f"{path.name}: kit loads {' and '.join(SUFFIXES)} models: save it with kit.save_model")
    import skops.io

    untrusted = [name for name in skops.io.get_untrusted_types(file=path) if name not in (trusted or [])]
    if untrusted and not _recorded(path):
        raise KitError(
            f"{path} needs types skops does not trust ({', '.join(untrusted)}) and is not an unchanged run artifact: "
            "check them, then pass trusted=[...]"
        )
    return skops.io.load(path, trusted=untrusted + list(trusted or []))
