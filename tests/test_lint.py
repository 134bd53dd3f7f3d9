"""The code follows the project's style: ruff's lint rules and format (configured in pyproject.toml)."""

import subprocess
import sys

import pytest

from tests.utils.paths import ROOT


@pytest.mark.parametrize(
    "command", [pytest.param(["check"], id="lint"), pytest.param(["format", "--check"], id="format")]
)
def test_ruff(command):
    result = subprocess.run([sys.executable, "-m", "ruff", *command, str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
