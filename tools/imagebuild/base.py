"""An image's base image, pulled, or made from Debian packages where no registry is reachable.

debootstrap builds the same Debian release as a root file system, which ``docker import`` turns into an image
tagged with the base image's name, so the Dockerfile needs no change to build offline.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from imagebuild import engine
from imagebuild.errors import BuildError
from imagebuild.process import run

DEFAULT_MIRROR = "http://deb.debian.org/debian"
_BASE_ARG = re.compile(r"^ARG\s+BASE_IMAGE=(\S+)", re.MULTILINE)
# Written into the imported image, as in Debian's official images: sources for apt, and no package cache.
SOURCES = """\
Types: deb
URIs: {mirror}
Suites: {suite} {suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: {security}
Suites: {suite}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
APT_CLEAN = """\
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""


def default_image(dockerfile: Path) -> str:
    """The base image a Dockerfile names (``ARG BASE_IMAGE=...``): the one place it is set."""
    match = _BASE_ARG.search(dockerfile.read_text())
    if not match:
        raise BuildError(f"{dockerfile} has no `ARG BASE_IMAGE=...` line: restore it from git")
    return match.group(1)


def suite(image: str) -> str:
    """The Debian release of a ``debian:<release>[-variant]`` image name."""
    name, _, tag = image.partition(":")
    if name.rsplit("/", 1)[-1] != "debian" or not tag:
        raise BuildError(f"cannot make {image} from Debian packages: set BASE_IMAGE to a debian:<release> image")
    return tag.split("-")[0]


def debootstrap(image: str, mirror: str = DEFAULT_MIRROR) -> None:
    """Make ``image`` from Debian packages and tag it."""
    if not shutil.which("debootstrap"):
        raise BuildError(f"{image} cannot be pulled and debootstrap is missing: apt-get install debootstrap")
    if os.geteuid() != 0:
        raise BuildError(f"{image} cannot be pulled; making it with debootstrap needs root: run as root (sudo)")
    release = suite(image)
    security = mirror.rsplit("/", 1)[0] + "/debian-security"
    with tempfile.TemporaryDirectory(prefix="kit-rootfs-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(
            ["debootstrap", "--variant=minbase", release, str(rootfs), mirror],
            "set DEBIAN_MIRROR to a reachable Debian mirror",
            failure=f"debootstrap {release} from {mirror} failed",
        )
        (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
        (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(
            SOURCES.format(mirror=mirror, security=security, suite=release)
        )
        (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(APT_CLEAN)
        for cache in ("var/lib/apt/lists", "var/cache/apt/archives"):
            for entry in (rootfs / cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        archive = Path(tmp) / "rootfs.tar"
        run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(archive), "."], "free space in /var/tmp")
        run(
            [engine.client(), "import", str(archive), image],
            "check that the engine has room for images (`docker system df`)",
            failure=f"docker import of {image} failed",
        )


def ensure(image: str, mirror: str = DEFAULT_MIRROR, log=print) -> str:
    """``image``, present locally afterwards; returns how it got there."""
    if engine.image_exists(image):
        return "present"
    log(f"base image {image}: not here, pulling it")
    if engine.pull(image):
        return "pulled"
    log(f"base image {image}: cannot be pulled, making it from {mirror} with debootstrap (about 30 s)")
    debootstrap(image, mirror)
    return "made with debootstrap"
