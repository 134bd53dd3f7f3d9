"""Building images with the project's own tooling, as the Makefile runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.utils.paths import ROOT


def build_model_image(run: Path, tag: str) -> subprocess.CompletedProcess:
    """`make model-image RUN=... MODEL_IMAGE=...`, as its tooling runs it."""
    return subprocess.run(
        [sys.executable, "-m", "imagebuild", "model", "--run", str(run), "--image", tag],
        capture_output=True, text=True, timeout=1200, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "tools")},
    )  # fmt: skip
