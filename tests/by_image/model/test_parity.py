"""The parity gate of `make model-image` (issue 19): the image must predict the run's reference set as the run did,
bit for bit; and the image carries the digest of the model's lineage."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import docker
import pytest

from tests.utils.images import build_model_image


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
    trained, kit_image, docker_client, tmp_path
):
    """A forest on the same 30 features and two classes replaces the logistic model, the manifest made to agree: only
    the predictions tell them apart."""
    command = ["docker", "run", "--rm", "-v", f"{trained}:/runs", "-e", "KIT_RUNS_DIR=/runs", kit_image, "kit", "run",
               "notebooks/train_tabular.ipynb", "-p", "model", "forest", "--run-id", "forest"]  # fmt: skip
    if not (trained / "forest").is_dir():
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    forest, swapped = trained / "forest", shutil.copytree(trained / "diagnosis", tmp_path / "diagnosis")
    assert (forest / "artifacts" / "model.signature.json").read_bytes() == (
        swapped / "artifacts" / "model.signature.json"
    ).read_bytes()
    shutil.copyfile(forest / "artifacts" / "model.skops", swapped / "artifacts" / "model.skops")
    manifest = json.loads((swapped / "manifest.json").read_text())
    manifest["model.skops"] = json.loads((forest / "manifest.json").read_text())["model.skops"]
    (swapped / "manifest.json").write_text(json.dumps(manifest))
    tag = "kit-model-test:swapped"
    result = build_model_image(swapped, tag)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: parity gate: {tag} refused (the model of run diagnosis predicts "), error
    assert "differently than its run did" in error and "do not ship it" in error
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(tag)
