"""Whether we run in CI, where a test that cannot run fails instead of skipping."""

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """A test needs something this machine lacks: a failure in CI, a skip with the reason elsewhere."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must not be skipped)", pytrace=False)
    pytest.skip(reason)
