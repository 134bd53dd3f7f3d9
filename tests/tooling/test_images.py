"""The images the tooling knows by name (tools/imagebuild/images.py): each one a folder of images/ with a Dockerfile
the tooling can read, built from locks that exist."""

import pytest

from imagebuild import base, images, lock, paths
from imagebuild.errors import BuildError

IMAGES = [pytest.param(image, id=name) for name, image in images.IMAGES.items()]


@pytest.mark.parametrize("image", IMAGES)
def test_each_image_is_a_folder_of_images_named_as_it_is(image):
    """The JupyterLab image is the top-level Dockerfile (`docker build .`); every other one is images/<name>/."""
    expected = paths.ROOT / "Dockerfile" if image.name == images.DEFAULT else paths.IMAGES / image.name / "Dockerfile"
    assert image.dockerfile == expected
    assert image.dockerfile.is_file()
    assert (paths.IMAGES / image.name).is_dir()  # the files copied into it


@pytest.mark.parametrize("image", IMAGES)
def test_the_dockerfile_names_its_base_image_and_takes_the_variant(image):
    assert base.default_image(image.dockerfile)  # the `ARG BASE_IMAGE=` line the offline build reads
    assert f"ARG {image.variant_arg}=" in image.dockerfile.read_text()


@pytest.mark.parametrize("image", IMAGES)
def test_every_variant_is_a_lock(image):
    assert set(image.variants) <= set(lock.PLATFORMS)
    for variant in image.variants:
        assert lock.lock_path(variant).is_file()


def test_kit_is_the_default_built_from_cpu_unless_told():
    assert images.get().name == "kit"
    assert images.get().build_args(images.get().variants[0]) == {"TF_VARIANT": "cpu"}


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        pytest.param(lambda: images.get("nope"), "no image named 'nope': use one of kit", id="unknown-image"),
        pytest.param(lambda: images.get("kit").build_args("rocm"), "unknown TF_VARIANT 'rocm'", id="unknown-variant"),
    ],
)
def test_unknown_names_say_what_there_is(call, fragment):
    with pytest.raises(BuildError, match=fragment):
        call()
