"""Fixtures for the kit image's tests (images/kit/), which run real containers from the host."""

import pytest


@pytest.fixture(scope="session")
def image(kit_image: str) -> str:
    """The image under test is the kit image (the `containers` fixture starts it)."""
    return kit_image
