"""Fixtures for the serving tests (inside the image): training runs made once, and real `kit serve` processes."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import kit
from tests.utils.containers import wait_for
from tests.utils.http import get

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ADDRESS = re.compile(r"at (http://[0-9.]+:\d+)/v2/models/(\S+);")


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def diagnosis(runs):
    """The default diagnosis classifier: a scikit-learn pipeline of 30 named features, two classes."""
    return kit.run(NOTEBOOKS / "train_tabular.ipynb", runs_dir=runs, run_id="diagnosis")


@pytest.fixture(scope="session")
def regression(runs):
    return kit.run(NOTEBOOKS / "train_tabular.ipynb", {"task": "regression"}, runs_dir=runs, run_id="regression")


@pytest.fixture(scope="session")
def digits(runs):
    """The Keras CNN on 8x8 images, trained briefly: serving it is what is tested, not its accuracy."""
    return kit.run(NOTEBOOKS / "train_images.ipynb", {"epochs": 3}, runs_dir=runs, run_id="digits")


class Server:
    """A `kit serve` process on a free port, stopped at teardown."""

    def __init__(self, run: Path, *options: str) -> None:
        self.process = subprocess.Popen(
            ["kit", "serve", str(run), "--port", "0", *options],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        line = self.process.stderr.readline()
        match = ADDRESS.search(line)
        assert match, line + self.process.stderr.read() if self.process.poll() is not None else line
        self.url, self.name = match.groups()
        self.model = f"{self.url}/v2/models/{self.name}"
        wait_for(lambda: get(f"{self.url}/v2/health/ready")[0] == 200, 90, "the model to load")

    def stop(self) -> str:
        self.process.terminate()
        _, errors = self.process.communicate(timeout=30)
        return errors


@pytest.fixture(scope="session")
def serve() -> Iterator:
    """Starts servers of runs (one per run and options, shared by the session); all stopped at the end."""
    started: dict[tuple, Server] = {}

    def start(run, *options: str) -> Server:
        key = (str(run.path), *options)
        if key not in started:
            started[key] = Server(run.path, *options)
        return started[key]

    yield start
    for server in started.values():
        server.stop()
