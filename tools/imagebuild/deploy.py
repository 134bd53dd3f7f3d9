"""``make deploy``: the Kubernetes manifests of a model image already built, once it passed the gates again.

``kit deploy`` runs where there is no Docker (in the kit image), so it cannot look into the image it names. Here,
on the host, nothing is written before the image is shown to be the run's:

1. its labels name the run and its model's sha256 (``make model-image`` set them): both must be RUN's;
2. ``kit parity`` in it, without network, predicts RUN's reference set (the host's file, mounted over the
   image's copy) as the run did, bit for bit, as ``make model-image`` checked when it built it.

Then ``kit deploy`` runs in the model image itself, from the record inside it, as the caller, into OUT: the
manifests name the image the gates passed, and no kit image is needed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from imagebuild import engine, model
from imagebuild.errors import BuildError
from imagebuild.process import run as run_command

#: Where OUT is mounted in the model image while ``kit deploy`` writes into it.
MOUNT = "/deploy"
#: The labels of images/model/Dockerfile that tie an image to its run.
RUN_LABEL, MODEL_LABEL = "io.kit.run.id", "io.kit.model.sha256"
#: The model image's variable naming the run inside it (kit.settings.MODEL_RUN_ENV: this tooling does not import kit).
MODEL_RUN_ENV = "KIT_MODEL_RUN"


def caller() -> str:
    """``docker run --user`` for whoever runs this: the files it reads and writes are theirs."""
    return f"{os.getuid()}:{os.getgid()}"


def image_config(image: str) -> dict:
    """The image's configuration (labels, environment); BuildError when the engine does not have it."""
    if not engine.image_exists(image):
        raise BuildError(f"deploy gate: no image {image} here: build it with `make model-image RUN=ID "
                         f"MODEL_IMAGE={image}`, or `docker pull {image}`")  # fmt: skip
    said = run_command(
        [engine.client(), "image", "inspect", "--format", "{{json .Config}}", image],
        "check that the Docker engine answers: `docker version`",
        timeout=engine.TIMEOUT,
    )
    return json.loads(said) or {}


def check_labels(image: str, config: dict, run_id: str, model_sha256: str) -> None:
    """BuildError unless the image's labels name run ``run_id`` and the model of sha256 ``model_sha256``."""
    labels = config.get("Labels") or {}
    for label, expected in ((RUN_LABEL, run_id), (MODEL_LABEL, model_sha256)):
        found = labels.get(label)
        if found != expected:
            raise BuildError(
                f"deploy gate: {image} refused (its label {label} is {str(found)[:64]!r}, run {run_id}'s is "
                f"{expected[:64]!r}); nothing was written: deploy the image `make model-image RUN={run_id}` built"
            )


def run_dir_in(image: str, config: dict) -> str:
    """The run's directory inside the model image (its $KIT_MODEL_RUN)."""
    for entry in config.get("Env") or []:
        name, _, value = entry.partition("=")
        if name == MODEL_RUN_ENV and value:
            return value
    raise BuildError(f"deploy gate: {image} refused (it sets no ${MODEL_RUN_ENV}): pass a model image `make "
                     "model-image` built")  # fmt: skip


def deploy(run: Path, image: str, output: Path, log=print) -> list[Path]:
    """Check ``image`` against ``run`` (labels, parity), then write its manifests into ``output``: their paths."""
    run_id, model_sha256, _ = model.check_run(run)
    config = image_config(image)
    check_labels(image, config, run_id, model_sha256)
    inside = run_dir_in(image, config)
    if model.has_reference(run):
        reference = (run / "artifacts" / ("model" + model.REFERENCE_SUFFIX)).resolve()
        # As the caller, who can read the file (the image's user may not).
        options = ("--user", caller(), "--volume", f"{reference}:{inside}/artifacts/{reference.name}:ro")
        log(model.run_parity(image, "nothing was written", options))
    else:
        log(f"parity gate: skipped, run {run_id} kept no reference set (kit.save_model(model, reference=rows))")
    return write_manifests(image, inside, output)


def write_manifests(image: str, run_dir: str, output: Path) -> list[Path]:
    """``kit deploy`` of the run in ``run_dir`` in the model image, as the caller, into ``output``.

    ``output`` is made here (as the caller, not by Docker as root), and removed again when it stays empty.
    """
    output = output.resolve()
    made = not output.exists()
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BuildError(f"cannot make {output} ({error.strerror}): pass OUT=DIR, a folder you can write") from None
    command = [engine.client(), "run", "--rm", "--network", "none", "--user", caller(),
               "--volume", f"{output}:{MOUNT}", image,
               "kit", "deploy", run_dir, "--image", image, "--output", MOUNT]  # fmt: skip
    try:
        said = run_command(
            command, f"nothing new was written into {output}", failure=f"`kit deploy` in {image} failed", timeout=120
        )
    except BuildError:
        if made and not any(output.iterdir()):
            output.rmdir()
        raise
    return [output / Path(line).relative_to(MOUNT) for line in said.splitlines() if line.startswith(MOUNT + "/")]
