"""Fixtures for the model image's tests (images/model/): real runs trained in the kit image, their model images
built with `make model-image`'s tooling, containers of them."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.utils.images import build_model_image


@pytest.fixture(scope="session")
def trained(tmp_path_factory, kit_image) -> Path:
    """A runs directory on the host with a diagnosis run and a digits run, trained by `kit run` in the kit image."""
    runs = tmp_path_factory.mktemp("model-runs")
    runs.chmod(0o777)
    for run_id, notebook, options in (
        ("diagnosis", "train_tabular", []),
        ("digits", "train_images", ["-p", "epochs", "2"]),
    ):
        command = ["docker", "run", "--rm", "-v", f"{runs}:/runs", "-e", "KIT_RUNS_DIR=/runs", kit_image,
                   "kit", "run", f"notebooks/{notebook}.ipynb", "--run-id", run_id, *options]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    return runs


class ModelImages(dict):
    """Model images by run id, each built on first use (the Keras one takes minutes: only the tests that need it)."""

    def __init__(self, trained: Path) -> None:
        super().__init__()
        self.trained = trained

    def __missing__(self, run_id: str) -> str:
        tag = f"kit-model-test:{run_id}-{uuid.uuid4().hex[:6]}"
        result = build_model_image(self.trained / run_id, tag)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        self[run_id] = tag
        return tag


@pytest.fixture(scope="session")
def model_images(trained, docker_client) -> Iterator[dict[str, str]]:
    """The model images of both runs, by run id, built when first asked for; their tags removed at the end (their
    layers stay cached)."""
    images = ModelImages(trained)
    yield images
    for tag in images.values():
        try:
            docker_client.images.remove(tag)
        except docker.errors.APIError:
            pass


@pytest.fixture(scope="session")
def image(model_images) -> str:
    """The model image under test: the scikit-learn diagnosis model's (the `containers` fixture starts it)."""
    return model_images["diagnosis"]
