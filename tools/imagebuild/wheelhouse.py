"""The wheelhouse: every locked wheel, downloaded on the host, so the image build needs no network.

Inside ``docker build`` HTTPS may pass a proxy the build does not trust; the host downloads the wheels
(hash-checked against the lock) into ``wheelhouse/<variant>/`` and the build installs them with no index.
A stamp records which lock the wheelhouse is complete for, so a second build does not touch the network.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
from pathlib import Path

from imagebuild import lock, paths
from imagebuild.errors import BuildError
from imagebuild.process import run_with_progress

STAMP = ".complete"
GLIBC_MINOR = 36  # Debian bookworm has glibc 2.36: every manylinux wheel up to 2_36 runs on it
ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def machine() -> str:
    arch = ARCHES.get(platform.machine().lower())
    if not arch:
        raise BuildError(f"no wheels are locked for {platform.machine()}: build on Linux x86_64 or aarch64")
    return arch


def platform_options(arch: str) -> list[str]:
    """pip's --platform for each manylinux tag bookworm runs; pip does not expand one to the older ones."""
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 16, -1)] + [f"manylinux2014_{arch}"]
    return [option for tag in tags for option in ("--platform", tag)]


def directory(variant: str, root: Path = paths.WHEELHOUSE) -> Path:
    return root / variant


def _stamp_text(variant: str, requirements: Path) -> str:
    digest = hashlib.sha256(lock.lock_path(variant, requirements).read_bytes()).hexdigest()
    return f"{machine()} {digest}\n"


def is_complete(variant: str, root: Path = paths.WHEELHOUSE, requirements: Path = paths.REQUIREMENTS) -> bool:
    stamp = directory(variant, root) / STAMP
    return stamp.exists() and stamp.read_text() == _stamp_text(variant, requirements)


def _wheel_key(filename: str) -> tuple[str, str]:
    name, version = filename.split("-")[:2]
    return lock.normalize(name), version


def _seed(target: Path, root: Path, wanted: set[tuple[str, str]], arch: str) -> set[tuple[str, str]]:
    """Link into ``target`` the wanted wheels another complete wheelhouse of this machine holds; those now present.

    The model images' locks share their pins with the kit image's: TensorFlow is not downloaded a second time.
    """
    for other in root.glob(f"*/{STAMP}"):
        if other.parent == target or not other.read_text().startswith(f"{arch} "):
            continue
        for wheel in other.parent.glob("*.whl"):
            if _wheel_key(wheel.name) in wanted and not (target / wheel.name).exists():
                try:
                    os.link(wheel, target / wheel.name)
                except OSError:
                    shutil.copy2(wheel, target / wheel.name)
    present = {_wheel_key(wheel.name) for wheel in target.glob("*.whl")}
    return present & wanted


class _Progress:
    """pip download's lines as one line per wheel, as it starts: ``[12/160] tensorflow_cpu-2.21.0-...whl (252.1 MB)``.

    pip prints "Downloading NAME (SIZE)" when a download begins and "File was already downloaded PATH" for a
    wheel the wheelhouse has: only what is missing is downloaded.
    """

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0

    def __call__(self, line: str) -> str | None:
        line = line.strip()
        if line.startswith("Downloading "):
            self.done += 1
            return f"[{self.done}/{self.total}] {line.removeprefix('Downloading ')}"
        if line.startswith("File was already downloaded "):
            self.done += 1
            return f"[{self.done}/{self.total}] {Path(line.split()[-1]).name} (here already)"
        return None


def download(
    variant: str,
    root: Path = paths.WHEELHOUSE,
    requirements: Path = paths.REQUIREMENTS,
    index_url: str = lock.PYPI,
) -> Path:
    """Download the variant's locked wheels for this machine's architecture, unless already complete."""
    lock.check(variant, requirements)
    target = directory(variant, root)
    if is_complete(variant, root, requirements):
        return target
    arch = machine()
    if variant not in lock.PLATFORMS or not any(p.startswith(arch) for p in lock.PLATFORMS[variant]):
        raise BuildError(f"the {variant} lock has no wheels for {arch}: build the cpu variant (TF_VARIANT=cpu)")
    target.mkdir(parents=True, exist_ok=True)
    (target / STAMP).unlink(missing_ok=True)
    pins = lock.read(variant, requirements).values()
    wanted = {(lock.normalize(p.name), p.version) for p in pins}
    here = {(lock.normalize(p.name), p.version) for p in pins if not p.marker or f"'{arch}'" in p.marker}
    if _seed(target, root, wanted, arch) >= here:  # every wheel this machine needs was here for another lock
        (target / STAMP).write_text(_stamp_text(variant, requirements))
        return target
    command = [
        sys.executable, "-m", "pip", "download", "--progress-bar", "off", "--disable-pip-version-check", "--no-deps",
        "--only-binary=:all:", "--require-hashes", "--index-url", index_url, "--python-version", lock.PYTHON_VERSION,
        "--implementation", "cp", "--abi", "cp" + lock.PYTHON_VERSION.replace(".", ""),
        *platform_options(arch), "--dest", str(target),
        "--requirement", str(lock.lock_path(variant, requirements)),
    ]  # fmt: skip
    # Only the given index: the host's pip settings (extra local indexes, find-links) must not take part.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    if "PIP_CERT" in os.environ:
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    print(f"downloading the {len(here)} locked wheels this machine needs into {target} (about 450 MB at first)")
    run_with_progress(
        command,
        "connect this machine to it, or run `make wheelhouse` on a machine that is and copy wheelhouse/ here",
        _Progress(len(here)),
        failure=f"cannot download the locked wheels from {index_url}",
        env=env,
    )
    for wheel in target.glob("*.whl"):
        if _wheel_key(wheel.name) not in wanted:  # left from an older lock
            wheel.unlink()
    (target / STAMP).write_text(_stamp_text(variant, requirements))
    return target
