"""The GitHub workflow is valid against GitHub's workflow schema (check-jsonschema bundles it)."""

import subprocess
import sys
from pathlib import Path

from tests.utils.paths import ROOT

CHECK = Path(sys.executable).with_name("check-jsonschema")
WORKFLOW = ROOT / ".github/workflows/ci.yml"


def test_the_workflow_is_valid():
    result = subprocess.run(
        [str(CHECK), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_workflow_is_caught(tmp_path):
    """The check has teeth: a step with neither `run` nor `uses` fails it."""
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("      - uses: actions/checkout@v4", "      - name: nothing", 1))
    result = subprocess.run(
        [str(CHECK), "--builtin-schema", "vendor.github-workflows", str(broken)], capture_output=True, text=True
    )
    assert result.returncode == 1


def test_the_workflow_runs_make_test_and_the_readme_commands():
    text = WORKFLOW.read_text()
    assert "make test" in text and '--user "$(id -u):$(id -g)" -v "$PWD":/home/jovyan/work' in text
    assert "papermill notebooks/" in text and "actions/upload-artifact" in text and "type=gha" in text
