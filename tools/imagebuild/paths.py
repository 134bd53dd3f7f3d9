"""Every path the build tooling uses, derived from the project root."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: One folder per image, its Dockerfile and the files copied into it; the build context is ROOT for all.
IMAGES = ROOT / "images"
REQUIREMENTS = ROOT / "requirements"
WHEELHOUSE = ROOT / "wheelhouse"
ENVIRONMENT_YML = ROOT / "environment.yml"
