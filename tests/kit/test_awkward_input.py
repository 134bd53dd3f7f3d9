"""Input that is unusual but fine: it runs, and its record says what ran. Some of it once gave tracebacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

import kit
from kit.record import layout
from tests.utils.commands import kit as kit_command
from tests.utils.commands import last_line, read
from tests.utils.notebooks import write_notebook

PAPERMILL_NOTEBOOKS = Path(__import__("papermill").__file__).parent / "tests" / "notebooks"


def nbformat3(path: Path) -> Path:
    """A notebook in nbformat 3, as IPython 2 wrote them (no kernelspec)."""
    cell = {"cell_type": "code", "input": "import kit\nkit.log_metric('x', x)", "language": "python",
            "metadata": {}, "outputs": [], "collapsed": False}  # fmt: skip
    parameters = {**cell, "input": "x = 1", "metadata": {"tags": ["parameters"]}}
    path.write_text(json.dumps({"metadata": {"name": ""}, "nbformat": 3, "nbformat_minor": 0,
                                "worksheets": [{"cells": [parameters, cell], "metadata": {}}]}))  # fmt: skip
    return path


@pytest.mark.parametrize(
    ("where", "args"),
    [
        pytest.param("braces {x}/nb.ipynb", [], id="braces-in-the-notebook-path"),
        pytest.param("nb.ipynb", ["--runs-dir", "runs {seed}"], id="braces-in-the-runs-dir"),
        pytest.param("nb.ipynb", ["--run-id", "r" * 128], id="run-id-of-128-characters"),
        pytest.param("nb.ipynb", ["--timeout", "2.5"], id="fractional-timeout"),
        pytest.param("nb.ipynb", ["-p", "x", "2", "-f", "bom.yaml"], id="yaml-with-utf8-bom"),
        pytest.param("ünïcödé 日本/nb.ipynb", ["-p", "x", "3"], id="unicode-path"),
    ],
)
def test_awkward_paths_and_options_run(tmp_path, where, args):
    notebook = tmp_path / where
    notebook.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(notebook, "x = 1", "import kit; kit.log_metric('x', x)")
    (tmp_path / "bom.yaml").write_text("\ufeffx: 5\n", encoding="utf-8")
    result = kit_command("run", notebook, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    run = kit.find_run(tmp_path / last_line(result.stdout))
    assert {path.name for path in run.path.iterdir()} == set(layout.RECORD)
    assert run.metrics == {"x": run.params["x"]}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(nbformat3, id="nbformat-3"),
        pytest.param(
            lambda path: write_notebook(path, "x = 1", "import kit; kit.log_metric('x', x)", kernel=None),
            id="no-kernelspec",
        ),  # fmt: skip
    ],
)
def test_old_and_bare_notebooks_run_on_the_python_kernel(tmp_path, make):
    run = kit.run(make(tmp_path / "old.ipynb"), {"x": 4}, runs_dir=tmp_path / "runs")
    assert run.metrics == {"x": 4} and run.info.invocation.kernel == "python3"


def test_a_notebook_that_locks_its_own_record_still_gets_a_complete_one(tmp_path):
    notebook = write_notebook(tmp_path / "lock.ipynb", None, "import os; os.chmod(os.environ['KIT_RUN_DIR'], 0o500)")
    run = kit.run(notebook, runs_dir=tmp_path / "runs")
    assert run.succeeded and {path.name for path in run.path.iterdir()} == set(layout.RECORD)


EXPECTED = {  # papermill's own test notebooks: what kit makes of each (exit code, status, error name)
    "simple_execute.ipynb": (0, "succeeded", None),
    "no_parameters.ipynb": (0, "succeeded", None),
    "nb_version_4.4.ipynb": (0, "succeeded", None),
    "sysexit0.ipynb": (0, "succeeded", None),
    "systemexit.ipynb": (0, "succeeded", None),
    "result_no_exec.ipynb": (0, "succeeded", None),
    "sysexit.ipynb": (0, "succeeded", None),  # sys.exit() with no code, as papermill counts it
    "broken1.ipynb": (1, "failed", "AssertionError"),
    "broken2.ipynb": (1, "failed", "ImportError"),
    "sysexit1.ipynb": (1, "failed", "SystemExit"),
    "line_magic_error.ipynb": (1, "failed", "UsageError"),
    "notimplemented_translator.ipynb": (2, None, None),  # a kernel that is not installed
    "complex_parameters.ipynb": (2, None, None),  # its parameters cell has a line `= 2`: it cannot run
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_papermills_own_test_notebooks(tmp_path, name):
    """Each either runs, or fails with a complete record naming the kernel's own error, or is refused in one line."""
    shutil.copy(PAPERMILL_NOTEBOOKS / name, tmp_path / name)
    code, status, ename = EXPECTED[name]
    result = kit_command("run", name, cwd=tmp_path, timeout=300)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == code, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and len(errors) == (0 if code == 0 else 1)
    if status is None:
        assert not (tmp_path / "runs").exists()
        return
    status_json = read(tmp_path / last_line(result.stdout) / "status.json")
    assert status_json["status"] == status
    assert (status_json["failure"] or {}).get("ename") == ename
    nbformat.validate(nbformat.read(tmp_path / last_line(result.stdout) / "notebook.ipynb", as_version=4))
