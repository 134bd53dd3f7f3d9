"""``make build``: check every precondition, then build and tag an image of ``images.py``.

The checks come first and fail with one line each (no engine, a stale lock, no base image, no wheels), so
nothing is built half-way. ``docker build`` tags the image only when every step succeeded.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shlex

from imagebuild import base, engine, images, lock, paths, wheelhouse
from imagebuild.errors import BuildError
from imagebuild.process import run


def _git(*args: str) -> str:
    """git's answer about the project, or "" where there is none (no git, not a checkout, no remote)."""
    try:
        return run(["git", "-C", str(paths.ROOT), *args], "")
    except BuildError:
        return ""


def provenance(variant: str) -> dict[str, str]:
    """Build arguments that become the image's OCI labels."""
    revision = _git("rev-parse", "HEAD") or "unknown"
    if revision != "unknown" and _git("status", "--porcelain", "--untracked-files=no"):
        revision += "-dirty"
    return {
        "SOURCE": _git("config", "--get", "remote.origin.url") or paths.ROOT.as_uri(),
        "REVISION": revision,
        "CREATED": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "LOCK_SHA256": hashlib.sha256(lock.lock_path(variant).read_bytes()).hexdigest(),
    }


def build(
    tag: str,
    variant: str | None = None,
    name: str = images.DEFAULT,
    mirror: str = base.DEFAULT_MIRROR,
    index_url: str = lock.PYPI,
    log=print,
    args: dict[str, str] | None = None,
) -> None:
    """Build the image ``name`` from the lock ``variant`` (its first by default) and tag it ``tag``.

    ``args`` are further build arguments of this build (the run a model image holds, say).
    """
    image = images.get(name)
    variant = variant or image.variants[0]
    args = image.build_args(variant) | (args or {})
    log(f"engine: Docker {engine.require_engine()}")
    lock.check(variant)
    base_image = base.default_image(image.dockerfile)
    log(f"base image {base_image}: {base.ensure(base_image, mirror, log)}")
    log(f"wheelhouse: {wheelhouse.download(variant, index_url=index_url).relative_to(paths.ROOT)}")
    builder = engine.builder()
    log(f"builder: {builder.name}")
    command = [*builder.command, "--tag", tag, "--file", str(image.dockerfile)]
    command += [f"--build-arg={key}={value}" for key, value in (args | provenance(variant)).items()]
    command += shlex.split(os.environ.get("BUILD_FLAGS", ""))  # e.g. buildx's --cache-from/--cache-to in CI
    run(
        [*command, str(paths.ROOT)],
        f"fix the step that failed and run the build again; {tag} was left as it was",
        failure=f"docker build of the {name} image failed",
        env=os.environ | builder.env,
        capture=False,
    )
