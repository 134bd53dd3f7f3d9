"""The lock files: compile them with uv, check them against the requirements, mirror them in environment.yml.

One lock per TensorFlow variant (``requirements/<variant>.lock``), compiled from ``<variant>.in`` for CPython
3.11 (the Python of Debian bookworm) against PyPI only, once per platform, then merged into one file: packages
that only one platform needs get a ``platform_machine`` marker. Its header records a hash of the requirements
it was compiled from, so a lock that no longer matches them is caught before a build, as poetry's
content-hash does.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from imagebuild import paths
from imagebuild.errors import BuildError
from imagebuild.process import run

PYTHON_VERSION = "3.11"
PYPI = "https://pypi.org/simple"
#: variant -> platforms its lock covers, as uv's --python-platform names them (glibc of Debian bookworm).
PLATFORMS = {
    "cpu": ("x86_64-manylinux_2_36", "aarch64-manylinux_2_36"),
    "cuda": ("x86_64-manylinux_2_36",),
    # The model images (images/model): a scikit-learn run's, and a Keras run's.
    "serve": ("x86_64-manylinux_2_36", "aarch64-manylinux_2_36"),
    "serve-keras": ("x86_64-manylinux_2_36", "aarch64-manylinux_2_36"),
}
#: variant whose pins the others must share, passed to uv as constraints.
REFERENCE = "cpu"
HASH_PREFIX = "# requirements-sha256: "
_INCLUDE = re.compile(r"^\s*-r\s+(\S+)")


@dataclass(frozen=True)
class Pin:
    """One locked package: its requirement line (name, version, marker) and the lines below it."""

    name: str
    version: str
    marker: str
    body: tuple[str, ...]

    def line(self) -> str:
        return f"{self.name}=={self.version}" + (f" ; {self.marker}" if self.marker else "")


def normalize(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def source(variant: str, requirements: Path = paths.REQUIREMENTS) -> Path:
    return requirements / f"{variant}.in"


def lock_path(variant: str, requirements: Path = paths.REQUIREMENTS) -> Path:
    return requirements / f"{variant}.lock"


def requirements_hash(variant: str, requirements: Path = paths.REQUIREMENTS) -> str:
    """sha256 over the variant's .in file and every file it includes with ``-r``, in include order."""
    digest = hashlib.sha256()
    pending, seen = [source(variant, requirements)], set()
    while pending:
        path = pending.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise BuildError(f"{path} is missing: restore it from git (git checkout -- {path})") from None
        digest.update(path.name.encode() + b"\0" + text.encode() + b"\0")
        pending += [path.parent / m.group(1) for m in map(_INCLUDE.match, text.splitlines()) if m]
    return digest.hexdigest()


def parse(text: str) -> dict[str, Pin]:
    """The pins of a lock file written by uv (or by :func:`render`), by normalized name."""
    pins: dict[str, Pin] = {}
    current: list[str] = []
    for line in text.splitlines() + [""]:
        if line.startswith((" ", "\t")) and current:
            current.append(line)
            continue
        if current:
            spec = current[0].rstrip(" \\")
            requirement, _, marker = spec.partition(";")
            name, _, version = requirement.strip().partition("==")
            pins[normalize(name)] = Pin(name.strip(), version.strip(), marker.strip(), tuple(current[1:]))
            current = []
        if line and not line.startswith("#"):
            current = [line]
    return pins


def read(variant: str, requirements: Path = paths.REQUIREMENTS) -> dict[str, Pin]:
    path = lock_path(variant, requirements)
    try:
        return parse(path.read_text())
    except FileNotFoundError:
        raise BuildError(f"{path} is missing: run `make lock`") from None


def check(variant: str, requirements: Path = paths.REQUIREMENTS) -> None:
    """Raise unless the lock was compiled from the requirements as they are now."""
    path = lock_path(variant, requirements)
    try:
        header = path.read_text().splitlines()
    except FileNotFoundError:
        raise BuildError(f"{path} is missing: run `make lock`") from None
    recorded = next((line[len(HASH_PREFIX) :] for line in header if line.startswith(HASH_PREFIX)), None)
    if recorded != requirements_hash(variant, requirements):
        raise BuildError(
            f"{path.name} does not match {source(variant, requirements).name} and the files it includes "
            "(they changed since it was compiled): run `make lock`"
        )


def merge(per_platform: dict[str, dict[str, Pin]]) -> dict[str, Pin]:
    """One set of pins for all platforms; a package not every platform needs gets a platform_machine marker."""
    merged: dict[str, Pin] = {}
    platforms = list(per_platform)
    for key in sorted({key for pins in per_platform.values() for key in pins}):
        found = {platform: pins[key] for platform, pins in per_platform.items() if key in pins}
        versions = {pin.version for pin in found.values()}
        if len(versions) > 1:
            raise BuildError(
                f"{key} resolves to different versions per platform ({', '.join(sorted(versions))}): "
                f"pin it in the requirements (e.g. {key}=={max(versions)}) and run `make lock` again"
            )
        pin = next(iter(found.values()))
        hashes = sorted({line for p in found.values() for line in p.body if "--hash=" in line})
        marker = pin.marker
        if len(found) < len(platforms):
            machines = " or ".join(f"platform_machine == '{p.split('-')[0]}'" for p in found)
            marker = f"({marker}) and ({machines})" if marker else machines
        merged[key] = Pin(pin.name, pin.version, marker, tuple(hashes))
    return merged


def render(variant: str, pins: dict[str, Pin], requirements: Path = paths.REQUIREMENTS) -> str:
    platforms = ", ".join(p.split("-")[0] for p in PLATFORMS[variant])
    lines = [
        f"# Locked requirements of the {variant} image: CPython {PYTHON_VERSION} on Linux {platforms}.",
        f"# Generated by `make lock` from requirements/{variant}.in against PyPI; do not edit by hand.",
        f"{HASH_PREFIX}{requirements_hash(variant, requirements)}",
    ]
    for pin in pins.values():
        hashes = [line.strip().rstrip(" \\") for line in pin.body if "--hash=" in line]
        lines.append(pin.line() + (" \\" if hashes else ""))
        lines += [f"    {h} \\" for h in hashes[:-1]] + [f"    {h}" for h in hashes[-1:]]
    return "\n".join(lines) + "\n"


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise BuildError("uv is not installed: run `make venv` (it installs uv into .venv), or `pip install uv`")
    return found


#: What to do when uv cannot lock: its last line names the package or the network error.
_FIX = "pin or relax that requirement in requirements/*.in, or connect this machine to PyPI, and run `make lock` again"


def _pypi_only_env() -> dict[str, str]:
    """The environment for uv, less the host's pip and uv index settings: a lock is compiled against PyPI only."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_INDEX", "UV_EXTRA"))}


def _compile_one(variant: str, platform: str, constraints: Path | None, requirements: Path) -> dict[str, Pin]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.txt"
        command = [
            _uv(), "pip", "compile", "--quiet", "--no-config", "--no-header", "--no-annotate",
            "--generate-hashes", "--index-url", PYPI, "--python-version", PYTHON_VERSION,
            "--python-platform", platform, "-o", str(out), str(source(variant, requirements)),
        ]  # fmt: skip
        if constraints:
            command += ["--constraint", str(constraints)]
        run(command, _FIX, failure=f"uv could not lock {variant} for {platform}", env=_pypi_only_env())
        return parse(out.read_text())


def compile_lock(variant: str, requirements: Path = paths.REQUIREMENTS) -> Path:
    """Compile ``<variant>.lock`` for every platform of the variant and write it."""
    with tempfile.TemporaryDirectory() as tmp:
        constraints = None
        if variant != REFERENCE:
            constraints = Path(tmp) / "constraints.txt"
            constraints.write_text("".join(f"{p.name}=={p.version}\n" for p in read(REFERENCE, requirements).values()))
        pins = merge({p: _compile_one(variant, p, constraints, requirements) for p in PLATFORMS[variant]})
    path = lock_path(variant, requirements)
    path.write_text(render(variant, pins, requirements))
    return path


def environment_yml(pins: dict[str, Pin]) -> str:
    """environment.yml for conda and Binder users, with the same pins as the reference lock."""
    lines = [
        "# The image's Python environment for conda and Binder users.",
        f"# Generated by `make lock` from requirements/{REFERENCE}.lock; a test fails when the two differ.",
        "name: kit",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={PYTHON_VERSION}",
        "  - pip",
        "  - pip:",
    ]
    lines += [f'    - "{pin.line()}"' for pin in pins.values()]
    return "\n".join(lines) + "\n"


def compile_host(requirements: Path = paths.REQUIREMENTS) -> Path:
    """``host.lock``: the tools ``make test`` installs on the host, for any Python from 3.11 on."""
    path = lock_path("host", requirements)
    command = [
        _uv(), "pip", "compile", "--quiet", "--no-config", "--universal", "--generate-hashes",
        "--index-url", PYPI, "--python-version", PYTHON_VERSION, "-o", path.name, source("host", requirements).name,
    ]  # fmt: skip
    run(command, _FIX, failure="uv could not lock the host tools", env=_pypi_only_env(), cwd=requirements)
    return path


def lock_all(requirements: Path = paths.REQUIREMENTS, environment: Path = paths.ENVIRONMENT_YML) -> list[Path]:
    """``make lock``: every variant's lock (the reference first) and environment.yml."""
    written = [compile_lock(REFERENCE, requirements)]
    written += [compile_lock(v, requirements) for v in PLATFORMS if v != REFERENCE]
    environment.write_text(environment_yml(read(REFERENCE, requirements)))
    return written + [compile_host(requirements), environment]
