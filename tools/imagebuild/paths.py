"""Every path the build tooling uses, derived from the project root."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: One folder per image, its Dockerfile and the files copied into it; the build context is ROOT for all.
IMAGES = ROOT / "images"
REQUIREMENTS = ROOT / "requirements"
WHEELHOUSE = ROOT / "wheelhouse"
ENVIRONMENT_YML = ROOT / "environment.yml"
#: Where a run's record is staged for a model image's build (inside the build context, ignored by git).
MODEL_RUNS = ROOT / ".model-runs"
