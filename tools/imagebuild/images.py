"""The images this project builds, by name: where each one's Dockerfile is and what it is built from.

The JupyterLab image, ``kit``, is the project's top-level ``Dockerfile`` (``docker build .``), the files it copies in
``images/kit/``. Adding an image is a folder ``images/<name>/`` with its Dockerfile (the build context is the project
root, shared by all; the root ``.dockerignore`` says what of it they see) and one entry here; its tests go in
``tests/by_image/<name>/``. Every image is built the same way (``PYTHONPATH=tools python3 -m imagebuild build
--name <name> --image <tag>``): its lock checked, its base image (the Dockerfile's ``ARG BASE_IMAGE=`` line)
pulled or made with debootstrap, the lock's wheels downloaded into ``wheelhouse/<variant>/``, then
``docker build`` with the variant, the extra build arguments and the provenance labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from imagebuild import paths
from imagebuild.errors import BuildError


@dataclass(frozen=True)
class Image:
    """One image: its Dockerfile, the locks it can be built from and the build arguments it takes."""

    name: str
    dockerfile: Path
    #: The ``requirements/<variant>.lock`` files it can be built from, the default first.
    variants: tuple[str, ...]
    #: The build argument that names the chosen variant to the Dockerfile.
    variant_arg: str
    #: Further build arguments, the same for every build.
    args: dict[str, str] = field(default_factory=dict)

    def build_args(self, variant: str) -> dict[str, str]:
        if variant not in self.variants:
            known = ", ".join(self.variants)
            raise BuildError(f"unknown {self.variant_arg} {variant!r} for the {self.name} image: use one of {known}")
        return {self.variant_arg: variant, **self.args}


IMAGES = {
    image.name: image
    for image in [
        # JupyterLab, scikit-learn, TensorFlow, papermill and kit; `make build`, `make lab`, `make test`.
        Image("kit", paths.ROOT / "Dockerfile", variants=("cpu", "cuda"), variant_arg="TF_VARIANT"),
        # One run's model behind `kit serve`; `make model-image RUN=...` (model.py stages the run's record).
        Image(
            "model", paths.IMAGES / "model/Dockerfile", variants=("serve", "serve-keras"), variant_arg="SERVE_VARIANT"
        ),
    ]
}
DEFAULT = "kit"


def get(name: str = DEFAULT) -> Image:
    try:
        return IMAGES[name]
    except KeyError:
        raise BuildError(
            f"no image named {name!r}: use one of {', '.join(IMAGES)} (tools/imagebuild/images.py)"
        ) from None
