"""The parity gate of `make model-image` and `make deploy` (issue 19): the image must predict the run's reference set
as the run did, bit for bit; and the image carries the digest of the model's lineage."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.utils.images import build_model_image
from tests.utils.paths import ROOT


@pytest.fixture(scope="session")
def forest(trained, kit_image) -> Path:
    """A run of the same notebook with a random forest: the same signature as the diagnosis run's logistic model,
    other predictions."""
    command = ["docker", "run", "--rm", "-v", f"{trained}:/runs", "-e", "KIT_RUNS_DIR=/runs", kit_image, "kit", "run",
               "notebooks/train_tabular.ipynb", "-p", "model", "forest", "--run-id", "forest"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return trained / "forest"


def swap_model(run: Path, forest: Path) -> None:
    """Put the forest's model in ``run``, and its sha256 in the manifest, as someone hiding the swap would."""
    shutil.copyfile(forest / "artifacts" / "model.skops", run / "artifacts" / "model.skops")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["model.skops"] = json.loads((forest / "manifest.json").read_text())["model.skops"]
    (run / "manifest.json").write_text(json.dumps(manifest))


def make_deploy(run: Path, image: str, out: Path) -> subprocess.CompletedProcess:
    """`make deploy RUN=... MODEL_IMAGE=... OUT=...`, from the project's root."""
    return subprocess.run(["make", "--no-print-directory", "deploy", f"RUN={run}", f"MODEL_IMAGE={image}",
                           f"OUT={out}"], capture_output=True, text=True, timeout=900, cwd=ROOT)  # fmt: skip


def errors(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("run_id", ["diagnosis", "digits"])
def test_the_gate_passes_for_the_shipped_notebooks_models(docker_client, model_images, trained, run_id):
    """The fixture built both images through the gate; each predicts its run's reference set again, here too."""
    assert (trained / run_id / "artifacts" / "model.reference.npz").is_file()
    said = docker_client.containers.run(model_images[run_id], ["kit", "parity"], remove=True, network_mode="none")
    assert b"bit for bit" in said


def test_the_image_carries_the_digest_of_the_models_lineage(docker_client, model_images, trained):
    lineage = trained / "diagnosis" / "artifacts" / "model.lineage.json"
    labels = docker_client.images.get(model_images["diagnosis"]).labels
    assert labels["io.kit.lineage.sha256"] == hashlib.sha256(lineage.read_bytes()).hexdigest()
    said = docker_client.containers.run(model_images["diagnosis"], ["kit", "lineage"], remove=True).decode()
    assert f"lineage      sha256 {labels['io.kit.lineage.sha256']}" in said.splitlines()


def test_the_gate_refuses_an_image_whose_model_was_swapped_for_one_of_the_same_signature(
    trained, forest, docker_client, tmp_path
):
    """A forest on the same 30 features and two classes replaces the logistic model, the manifest made to agree: only
    the predictions tell them apart."""
    swapped = shutil.copytree(trained / "diagnosis", tmp_path / "diagnosis")
    assert (forest / "artifacts" / "model.signature.json").read_bytes() == (
        swapped / "artifacts" / "model.signature.json"
    ).read_bytes()
    swap_model(swapped, forest)
    tag = "kit-model-test:swapped"
    result = build_model_image(swapped, tag)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: parity gate: {tag} refused (the model of run diagnosis predicts "), error
    assert "differently than its run did" in error and "do not ship it" in error
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(tag)


@pytest.fixture
def swapped_image(model_images, trained, forest, docker_client, tmp_path) -> Iterator[str]:
    """The diagnosis model image with the forest's model and manifest copied in afterwards, labels unchanged: an image
    `make model-image` would refuse, built here by hand; removed at the end."""
    context = tmp_path / "swapped-context"
    shutil.copytree(trained / "diagnosis", context)
    swap_model(context, forest)
    (context / "Dockerfile").write_text(
        f"FROM {model_images['diagnosis']}\n"
        "COPY artifacts/model.skops /opt/runs/diagnosis/artifacts/model.skops\n"
        "COPY manifest.json /opt/runs/diagnosis/manifest.json\n"
    )
    tag = f"kit-model-test:swapped-{uuid.uuid4().hex[:6]}"
    result = subprocess.run(["docker", "build", "--quiet", "--tag", tag, str(context)], capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    yield tag
    docker_client.images.remove(tag)


def test_make_deploy_refuses_an_image_whose_model_was_swapped_and_writes_nothing(
    swapped_image, trained, docker_client, tmp_path
):
    out = tmp_path / "deploy"
    result = make_deploy(trained / "diagnosis", swapped_image, out)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    [error] = errors(result)
    assert error.startswith(f"error: parity gate: {swapped_image} refused (the model of run diagnosis predicts "), error
    assert "nothing was written" in error and len(error) < 300, error
    assert not out.exists()
    assert docker_client.images.get(swapped_image), "the gate of make deploy removes no image it did not build"


@pytest.mark.parametrize(
    ("run_id", "image", "says"),
    [
        pytest.param("digits", "diagnosis", "its label io.kit.run.id is 'diagnosis', run digits's is 'digits'",
                     id="another-runs-image"),
        pytest.param("diagnosis", None, "no image kit-model-test:absent here", id="no-such-image"),
    ],
)  # fmt: skip
def test_make_deploy_refuses_an_image_that_is_not_the_runs(model_images, trained, tmp_path, run_id, image, says):
    image = model_images[image] if image else "kit-model-test:absent"
    out = tmp_path / "deploy"
    result = make_deploy(trained / run_id, image, out)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    [error] = errors(result)
    assert says in error and len(error) < 300, error
    assert not out.exists()


def test_make_deploy_writes_the_manifests_of_an_image_that_passes(model_images, trained, tmp_path):
    image, out = model_images["diagnosis"], tmp_path / "deploy" / "diagnosis"
    result = make_deploy(trained / "diagnosis", image, out)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "bit for bit" in result.stdout and f"kubectl apply -k {out}" in result.stdout
    assert {"deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "kustomization.yaml"} <= {
        path.name for path in out.iterdir()
    }
    assert all(path.stat().st_uid == os.getuid() for path in [out, *out.iterdir()]), "written as the caller"
    deployment = (out / "deployment.yaml").read_text()
    assert f"image: {image}" in deployment and "kit.dev/run-id: diagnosis" in deployment
