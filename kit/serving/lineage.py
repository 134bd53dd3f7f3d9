"""What made a model, collected for ``kit lineage``: model sha256 → run → notebook, parameters, inputs, environment.

From a run (or a model image's own run, ``$KIT_MODEL_RUN``), a model file saved by ``kit.save_model``, or a
model server's metadata (``GET /v2/models/NAME``). Plain data; :func:`kit.display.text.lineage` shows it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kit.errors import KitError, LineageUnavailable
from kit.models import SUFFIXES
from kit.record import Run, lineage
from kit.record.hashing import sha256
from kit.record.jsonfile import read_json
from kit.serving.model import open_model

#: A model server answers its metadata in milliseconds; more than this is not one.
TIMEOUT_S = 10
#: The largest metadata read from a server.
MAX_BYTES = 16 << 20


@dataclass(frozen=True)
class Chain:
    """A model's sha256, its lineage and the lineage's sha256, and the run record when it is at hand."""

    model_file: str
    model_sha256: str
    lineage: dict | None
    lineage_sha256: str | None
    run: Run | None
    #: Where it was read: a run directory, a file, a URL.
    source: str


def _run_of(model: Path) -> Run | None:
    """The run whose ``artifacts/`` holds ``model``, if it is one."""
    folder = model.resolve().parent
    try:
        return Run.open(folder.parent) if folder.name == "artifacts" else None
    except KitError:  # a damaged record: the model still has its lineage beside it
        return None


def from_file(model: Path) -> Chain:
    """The chain of a model file, its lineage read beside it."""
    recorded = lineage.path_of(model)
    try:
        model_sha256 = sha256(model)
        data, lineage_sha256 = lineage.check(read_json(recorded)), sha256(recorded)
    except FileNotFoundError as error:
        raise LineageUnavailable(str(error.filename), "is missing", "save the model with kit.save_model") from None
    except (OSError, ValueError) as error:
        raise LineageUnavailable(str(recorded), f"cannot be read ({error})", "save the model again") from None
    return Chain(model.name, model_sha256, data, lineage_sha256, _run_of(model), str(model))


def from_url(url: str) -> Chain:
    """The chain a model server gives in its metadata: ``http://HOST:PORT/v2/models/NAME``."""
    if not url.startswith(("http://", "https://")):
        raise LineageUnavailable(url, "is not an http(s) URL", "pass --url http://HOST:PORT/v2/models/NAME")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:  # noqa: S310 - the scheme is checked above
            metadata = json.loads(answer.read(MAX_BYTES))
        parameters = metadata["parameters"]
        data = parameters.get("lineage")
        chain = Chain(parameters["model_file"], parameters["model_sha256"], lineage.check(data) if data else None,
                      parameters.get("lineage_sha256"), None, url)  # fmt: skip
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise LineageUnavailable(url, f"did not answer ({reason})", "check the URL and that the server runs") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise LineageUnavailable(url, "is not a kit model's metadata", "pass http://HOST:PORT/v2/models/NAME") from None
    return chain


def chain(ref: str | os.PathLike, runs_dir: str | os.PathLike | None = None) -> Chain:
    """The chain of a run's model (a run id or directory) or of a model file (``.keras``, ``.skops``)."""
    path = Path(ref)
    if path.suffix in SUFFIXES and path.is_file():
        return from_file(path)
    served = open_model(ref, runs_dir)
    return Chain(served.path.name, served.sha256, served.lineage, served.lineage_sha256, served.run,
                 str(served.run.path))  # fmt: skip
