"""``make build``: check every precondition, then build and tag the image.

The checks come first and fail with one line each (no engine, a stale lock, no base image, no wheels), so
nothing is built half-way. ``docker build`` tags the image only when every step succeeded.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shlex
import subprocess

from imagebuild import base, engine, lock, paths, wheelhouse
from imagebuild.errors import BuildError


def _git(*args: str) -> str:
    result = subprocess.run(["git", "-C", str(paths.ROOT), *args], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


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
    image: str, variant: str = "cpu", mirror: str = base.DEFAULT_MIRROR, index_url: str = lock.PYPI, log=print
) -> None:
    """Build ``image`` from the Dockerfile with TensorFlow's ``variant`` build ("cpu" or "cuda")."""
    if variant not in lock.PLATFORMS:
        raise BuildError(f"unknown TF_VARIANT {variant!r}: use one of {', '.join(lock.PLATFORMS)}")
    log(f"engine: Docker {engine.require_engine()}")
    lock.check(variant)
    base_image = base.default_image()
    log(f"base image {base_image}: {base.ensure(base_image, mirror, log)}")
    log(f"wheelhouse: {wheelhouse.download(variant, index_url=index_url).relative_to(paths.ROOT)}")
    builder = engine.builder()
    log(f"builder: {builder.name}")
    args = {"TF_VARIANT": variant, **provenance(variant)}
    command = [*builder.command, "--tag", image, "--file", str(paths.DOCKERFILE)]
    command += [f"--build-arg={key}={value}" for key, value in args.items()]
    command += shlex.split(os.environ.get("BUILD_FLAGS", ""))  # e.g. buildx's --cache-from/--cache-to in CI
    result = subprocess.run([*command, str(paths.ROOT)], env=os.environ | builder.env)
    if result.returncode:
        raise BuildError(f"docker build failed (its output is above); {image} was left as it was")
