"""A model's lineage travels with it (issue 19): beside the model, in the server's metadata, in the Deployment,
and whole from `kit lineage`; a verified run still reproduces it."""

from __future__ import annotations

import json
import os
import shutil

import pytest

import kit
from kit import settings
from kit.record.hashing import sha256
from kit.serving import kubernetes
from kit.serving.model import open_model
from tests.utils.commands import kit as kit_command
from tests.utils.http import get
from tests.utils.notebooks import write_notebook

from .conftest import NOTEBOOKS


def test_save_model_keeps_the_runs_lineage_beside_the_model(diagnosis):
    lineage = json.loads((diagnosis.path / "artifacts" / "model.lineage.json").read_text())
    assert lineage["run_id"] == diagnosis.id
    assert lineage["model"]["sha256"] == diagnosis.manifest["model.skops"]["sha256"]
    assert lineage["notebook"]["sha256"] == sha256(NOTEBOOKS / "train_tabular.ipynb")
    assert lineage["parameters"] == diagnosis.params
    assert lineage["environment"]["lock_sha256"] == sha256(settings.IMAGE_LOCK)
    assert lineage["environment"]["lock_sha256"] == diagnosis.environment["image"]["lock_sha256"]
    assert isinstance(lineage["inputs"], list)


def test_the_server_returns_the_lineage_and_kit_lineage_prints_the_chain(diagnosis, serve, tmp_path):
    server = serve(diagnosis)
    status, metadata = get(server.model)
    assert status == 200
    digest = diagnosis.manifest["model.lineage.json"]["sha256"]
    assert metadata["parameters"]["lineage_sha256"] == digest
    assert metadata["parameters"]["lineage"]["run_id"] == diagnosis.id
    for args in ([diagnosis.path], [diagnosis.path / "artifacts" / "model.skops"], ["--url", server.model]):
        result = kit_command("lineage", *args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith("model        model.skops  sha256 " + diagnosis.manifest["model.skops"]["sha256"])
        assert lines[1] == f"lineage      sha256 {digest}"
        assert lines[2].startswith(f"run          {diagnosis.id}")
        assert any(line.startswith("notebook     ") and "train_tabular.ipynb" in line for line in lines)
        assert "  seed = 42" in lines and "environment" in lines


def test_kit_deploy_annotates_the_deployment_with_the_lineage(diagnosis):
    deployment = kubernetes.manifests(open_model(diagnosis), "registry.example/diagnosis:1")["deployment.yaml"]
    digest = diagnosis.manifest["model.lineage.json"]["sha256"]
    assert deployment["metadata"]["annotations"]["kit.dev/lineage-sha256"] == digest
    assert deployment["spec"]["template"]["metadata"]["annotations"]["kit.dev/lineage-sha256"] == digest


def test_the_lineage_lists_the_files_the_run_read_before_saving_the_model(tmp_path):
    data = tmp_path / "iris.csv"
    data.write_text("a,b,y\n" + "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(40)))
    notebook = write_notebook(
        tmp_path / "fit.ipynb",
        None,
        "import kit, pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
        "frame = pd.read_csv('iris.csv')\n"
        "kit.save_model(LogisticRegression().fit(frame[['a', 'b']], frame['y']), reference=frame[['a', 'b']][:5])",
    )
    run = kit.run(notebook, runs_dir=tmp_path / "runs")
    lineage = json.loads((run.layout.artifacts / "model.lineage.json").read_text())
    assert [(item["path"], item["size"], item["sha256"]) for item in lineage["inputs"]] == [
        ("iris.csv", data.stat().st_size, sha256(data))
    ]
    shown = kit_command("lineage", run.path, cwd=tmp_path).stdout.splitlines()
    assert f"  iris.csv  {data.stat().st_size} bytes  sha256 {sha256(data)}" in shown


def test_a_verified_run_reproduces_its_models_lineage(tmp_path):
    notebook = write_notebook(
        tmp_path / "fit.ipynb",
        "seed = 0",
        "import kit\nfrom sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression\n"
        "X, y = load_iris(return_X_y=True)\nkit.save_model(LogisticRegression(max_iter=500).fit(X, y))",
    )
    run = kit.run(notebook, runs_dir=tmp_path / "runs")
    result = kit.verify(run)
    assert result.reproduced, result.changes
    again = json.loads((result.b.path / "artifacts" / "model.lineage.json").read_text())
    assert again["run_id"] == result.b.id != run.id


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(["nope"], "no run", id="unknown-run"),
        pytest.param(["--url", "ftp://x/v2/models/m"], "is not an http(s) URL", id="not-http"),
        pytest.param(["--url", "http://127.0.0.1:9/v2/models/m"], "did not answer", id="nothing-listens"),
        pytest.param([], "which model?", id="nothing-given"),
    ],
)
def test_kit_lineage_refuses_in_one_line(tmp_path, args, message):
    env = {name: value for name, value in os.environ.items() if name != settings.MODEL_RUN_ENV}
    result = kit_command("lineage", *args, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and message in result.stderr


def test_kit_parity_passes_for_the_runs_own_model_and_refuses_a_swapped_one(diagnosis, runs, tmp_path):
    result = kit_command("parity", diagnosis.path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("parity: the 64 reference rows give the run's label, probabilities, bit for bit")
    forest = kit.run(NOTEBOOKS / "train_tabular.ipynb", {"model": "forest"}, runs_dir=runs, run_id="forest")
    swapped = shutil.copytree(diagnosis.path, tmp_path / "swapped")
    shutil.copyfile(forest.layout.artifacts / "model.skops", swapped / "artifacts" / "model.skops")
    manifest = json.loads((swapped / "manifest.json").read_text())
    (swapped / "manifest.json").write_text(json.dumps({**manifest, "model.skops": forest.manifest["model.skops"]}))
    result = kit_command("parity", swapped, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1 and "reference rows differently than its run did" in result.stderr


@pytest.mark.parametrize(
    "reference, message",
    [
        pytest.param("pd.concat([X, X])", "has 1138 rows: keep 1 to 1000", id="too-many-rows"),
        pytest.param("X[:0]", "has 0 rows", id="no-rows"),
        pytest.param(
            "X.drop(columns=['mean radius'])[:5]", "lacks the model's feature 'mean radius'", id="missing-feature"
        ),
        pytest.param("X.to_numpy()[:5, :3]", "has shape (5, 3): pass rows of the 30 features", id="wrong-shape"),
    ],
)
def test_save_model_refuses_a_reference_set_it_cannot_keep(tmp_path, reference, message):
    notebook = write_notebook(
        tmp_path / "fit.ipynb",
        None,
        "import kit, pandas as pd\nfrom sklearn.datasets import load_breast_cancer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
        f"kit.save_model(LogisticRegression(max_iter=50).fit(X, y), reference={reference})",
    )
    result = kit_command("run", notebook, "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert result.returncode == 1 and message in result.stderr, result.stderr


@pytest.mark.parametrize("rows", [1, 10, 64, 100, 1000], ids=lambda rows: f"{rows}-rows")
def test_kit_parity_passes_for_any_number_of_reference_rows(tmp_path, rows):
    """The notebook computes its reference outputs as the server does (in blocks of 64): any count keeps parity."""
    notebook = write_notebook(
        tmp_path / "fit.ipynb",
        None,
        "import kit, pandas as pd\nfrom sklearn.datasets import load_breast_cancer\n"
        "from sklearn.linear_model import LogisticRegression\nfrom sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
        "model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)\n"
        f"kit.save_model(model, reference=pd.concat([X, X])[:{rows}])",
    )
    run = kit.run(notebook, runs_dir=tmp_path / "runs")
    result = kit_command("parity", run.path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    said = f"parity: the {rows} reference rows give the run's label, probabilities, bit for bit"
    assert result.stdout.startswith(said), result.stdout
