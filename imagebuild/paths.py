"""Every path the build tooling uses, derived from the project root."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
REQUIREMENTS = ROOT / "requirements"
WHEELHOUSE = ROOT / "wheelhouse"
ENVIRONMENT_YML = ROOT / "environment.yml"
