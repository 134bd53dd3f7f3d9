"""``make model-image``: the model image of one kit run, built like every image, with the run's record inside.

The run is checked first, with the standard library only (this runs before any virtual environment): it must
have succeeded, and the model it saved (``model.skops`` or ``model.keras``) must still have the bytes its manifest
lists. The model's kind chooses the lock (``serve`` or ``serve-keras``: no TensorFlow for scikit-learn). The record
is copied into the build context (``.model-runs/``) for the build and removed after it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from pathlib import Path

from imagebuild import build, engine, paths
from imagebuild.errors import BuildError
from imagebuild.process import run as run_command

#: Model file suffix -> the lock of its image.
VARIANTS = {".skops": "serve", ".keras": "serve-keras"}
#: What kit.save_model writes beside a model (kit.record.lineage.SUFFIX, kit.models.reference.SUFFIX: this
#: tooling does not import kit).
LINEAGE_SUFFIX = ".lineage.json"
REFERENCE_SUFFIX = ".reference.npz"
#: The parity gate predicts a few rows: loading TensorFlow takes the longest.
PARITY_TIMEOUT = 600


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        raise BuildError(f"{path} is missing or damaged: pass a run directory made by `kit run`") from None
    if not isinstance(data, dict):
        raise BuildError(f"{path} is damaged: pass a run directory made by `kit run`")
    return data


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def find_run(given: str) -> Path:
    """The run ``given`` names: its directory (``runs/ID``), or its id in ``./runs`` or the project's ``runs/``."""
    for candidate in (Path(given), Path("runs") / given, paths.ROOT / "runs" / given):
        if candidate.is_dir():
            return candidate
    raise BuildError(f"no run {given!r} here or in runs/: pass RUN=ID or RUN=runs/ID (`kit runs` lists them)")


def check_run(run: Path) -> tuple[str, str, str]:
    """The run's id, its model's sha256 and the lock variant for it; BuildError when the run cannot be served."""
    if not run.is_dir():
        raise BuildError(f"no run directory {run}: pass RUN=ID or RUN=runs/ID (`kit runs` lists them)")
    status = _read(run / "status.json")
    if status.get("status") != "succeeded":
        raise BuildError(f"run {run.name} {status.get('status')}: build a model image of a run that succeeded")
    manifest = _read(run / "manifest.json")
    models = [name for name in manifest if Path(name).suffix in VARIANTS and Path(name).stem == "model"]
    if not models:
        raise BuildError(f"run {run.name} saved no model.skops or model.keras: train it with kit.save_model(model)")
    model = models[0]
    path = run / "artifacts" / model
    recorded = manifest[model].get("sha256") if isinstance(manifest[model], dict) else None
    try:
        actual = _sha256(path)
    except OSError:
        raise BuildError(f"{path} is missing: the run's model cannot go into an image") from None
    if actual != recorded:
        raise BuildError(f"{path} was changed after its run (its sha256 is not the manifest's): restore it or retrain")
    return run.name, actual, VARIANTS[Path(model).suffix]


def lineage_sha256(run: Path) -> str:
    """The sha256 of the lineage kit.save_model kept beside the run's model ("none" for older runs), checked."""
    name = "model" + LINEAGE_SUFFIX
    entry = _read(run / "manifest.json").get(name)
    if not isinstance(entry, dict):
        return "none"
    try:
        actual = _sha256(run / "artifacts" / name)
    except OSError:
        raise BuildError(
            f"{run / 'artifacts' / name} is missing: the model's lineage cannot go into the image"
        ) from None
    if actual != entry.get("sha256"):
        raise BuildError(f"{run / 'artifacts' / name} was changed after its run (its sha256 is not the manifest's)")
    return actual


def build_model_image(run: Path, tag: str, log=print, **options) -> str:
    """Build the model image of ``run`` and tag it ``tag``; the lock variant it was built from."""
    run_id, model_sha256, variant = check_run(run)
    paths.MODEL_RUNS.mkdir(exist_ok=True)
    staged = paths.MODEL_RUNS / f"{run_id}-{secrets.token_hex(4)}"
    try:
        shutil.copytree(run, staged, ignore=shutil.ignore_patterns("report.html", ".*"))
        args = {"RUN_DIR": staged.relative_to(paths.ROOT).as_posix(), "RUN_ID": run_id, "MODEL_SHA256": model_sha256,
                "LINEAGE_SHA256": lineage_sha256(run)}  # fmt: skip
        build.build(tag, variant, "model", args=args, log=log, **options)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    parity_gate(run, tag, log)
    return variant


def has_reference(run: Path) -> bool:
    """Whether the run kept a reference set (kit.save_model(model, reference=rows)) for the parity gate."""
    return ("model" + REFERENCE_SUFFIX) in _read(run / "manifest.json")


def run_parity(image: str, fix: str, options: tuple[str, ...] = ()) -> str:
    """``kit parity`` in ``image``, without network: what it said.

    ``options`` are more ``docker run`` options; a failure is BuildError "parity gate: IMAGE refused (...)".
    """
    return run_command(
        [engine.client(), "run", "--rm", "--network", "none", *options, image, "kit", "parity"],
        fix,
        failure=f"parity gate: {image} refused",
        timeout=PARITY_TIMEOUT,
    )


def parity_gate(run: Path, tag: str, log=print) -> None:
    """Run ``kit parity`` in the image just built: it must predict the run's reference set as the run did.

    Bit for bit; else the tag is removed and BuildError says why. A run that kept no reference set is not checked.
    """
    if not has_reference(run):
        log(f"parity gate: skipped, run {run.name} kept no reference set (kit.save_model(model, reference=rows))")
        return
    try:
        said = run_parity(tag, f"the image predicts otherwise than run {run.name}: it was removed; do not ship it")
    except BuildError:
        run_command([engine.client(), "image", "rm", tag], "", timeout=120)
        raise
    log(said)
