"""kit outside the image: `pip install .` into a fresh virtual environment gives a kit that runs notebooks.

The wheels come from the wheelhouse `make build` downloads (the image's locked versions, no network), so this
needs the host's Python to be the image's (3.11) and the wheelhouse to be there; `make test` builds first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.utils.ci import missing
from tests.utils.outputs import stderr_outputs
from tests.utils.paths import ROOT

WHEELHOUSE = ROOT / "wheelhouse" / "cpu"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A new virtual environment with `pip install .` (and the `ml` extra) from the wheelhouse, offline."""
    if sys.version_info[:2] != (3, 11):
        missing(f"the wheelhouse holds wheels for Python 3.11, this is {sys.version.split()[0]}")
    if not any(WHEELHOUSE.glob("*.whl")):
        missing("the wheelhouse is empty: run `make wheelhouse` (make test does)")
    environment = tmp_path_factory.mktemp("venv")
    venv.create(environment, with_pip=True)
    command = [str(environment / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "--no-index",
               "--find-links", str(WHEELHOUSE), f"{ROOT}[ml]"]  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "HOME": str(environment), "PIP_CONFIG_FILE": "/dev/null"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return environment


def cell(source: str, *tags: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {"tags": list(tags)}, "outputs": [],
            "source": source}  # fmt: skip


def test_kit_from_pip_install_runs_a_notebook(installed, tmp_path):
    """The host has no nbformat: the notebook is written as the JSON it is."""
    notebook = {
        "cells": [cell("seed = 0", "parameters"), cell("import kit\nkit.seed_everything(seed, tensorflow=False)\n"
                                                       "kit.log_metric('m', seed)")],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    (tmp_path / "nb.ipynb").write_text(json.dumps(notebook))
    env = {"PATH": f"{installed / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["kit", "run", "nb.ipynb", "-p", "seed", "3"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / result.stdout.strip().splitlines()[-1]
    assert json.loads((run / "metrics.json").read_text()) == {"m": 3}
    assert json.loads((run / "environment.json").read_text())["image"] is None  # outside the image, and it says so
    report = subprocess.run(["kit", "report", str(run)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert report.returncode == 0, report.stderr[-2000:]


@pytest.mark.parametrize("notebook", ["train_tabular.ipynb", "predict.ipynb"])
def test_the_ml_extra_runs_the_shipped_scikit_learn_notebooks(installed, tmp_path, notebook):
    """`pip install '.[ml]'` is enough for the notebooks that need no TensorFlow (pandas, matplotlib included);
    predict.ipynb with no run yet trains train_tabular.ipynb first."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    env = {"PATH": f"{installed / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "MPLBACKEND": "Agg"}
    result = subprocess.run(["kit", "run", f"notebooks/{notebook}"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / result.stdout.strip().splitlines()[-1]
    assert json.loads((run / "metrics.json").read_text())
    assert stderr_outputs(json.loads((run / "notebook.ipynb").read_text())) == []
