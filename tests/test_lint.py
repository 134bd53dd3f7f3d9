"""The code follows the project's style: ruff's lint rules and format, and kit's layers (all in pyproject.toml)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils.paths import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.mark.parametrize(
    "command", [pytest.param(["check"], id="lint"), pytest.param(["format", "--check"], id="format")]
)
def test_ruff(command):
    result = subprocess.run([sys.executable, "-m", "ruff", *command, str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """import-linter on the kit package of ``project``, with the contracts of its pyproject.toml."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env=os.environ | {"PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_kit_imports_point_one_way_down():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


#: A lower layer's module, the import of a higher layer added to it, and what import-linter says of it.
UPWARD = {
    "record-imports-running": ("kit/record/run.py", "from kit.running import plan", "kit.record", "kit.running"),
    "models-imports-serving": ("kit/models/formats.py", "import kit.serving.app", "kit.models", "kit.serving"),
    "display-imports-sweeping": ("kit/display/text.py", "from kit.sweeping import grid", "kit.display", "kit.sweeping"),
}


@pytest.mark.parametrize(
    ("module", "line", "lower", "higher"), [pytest.param(*case, id=name) for name, case in UPWARD.items()]
)
def test_an_upward_import_fails_with_a_message(tmp_path, module, line, lower, higher):
    """The contract bites: a copy of kit with one upward import, hidden inside a function as a lazy import would be."""
    shutil.copytree(ROOT / "kit", tmp_path / "kit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / module, "a") as source:
        source.write(f"\n\ndef _dodge():\n    {line}\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert (
        f"{lower} is not allowed to import {higher}" in result.stdout
        and module.removesuffix(".py").replace("/", ".") in result.stdout
    )
