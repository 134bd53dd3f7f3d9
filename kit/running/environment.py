"""What a run ran on: Python, platform, every installed package, the image, the project's git state, the CPUs.

Collected from metadata without importing the packages (as scikit-learn's ``show_versions`` does), so it is fast
and the same whether or not a notebook imported TensorFlow.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path

from kit import settings
from kit.record.hashing import sha256
from kit.running import threads
from kit.version import __version__


def _installed_state() -> tuple:
    """The metadata folders (``NAME-VERSION.dist-info``) on every path Python imports from: what an install changes."""
    state = []
    for entry in sys.path:
        try:
            names = sorted(name for name in os.listdir(entry or ".") if name.endswith((".dist-info", ".egg-info")))
        except OSError:
            names = None
        state.append((entry, names))
    return tuple(state)


#: The last listing of packages and the state it was read in: a sweep's runs, seconds apart, read it once.
_listed: tuple[tuple, dict[str, str]] | None = None
_listing = threading.Lock()


def packages() -> dict[str, str]:
    """Every installed distribution and its version, by normalized name (``tensorflow-cpu``, PEP 503)."""
    global _listed
    with _listing:  # runs starting together wait for one listing instead of each reading 300 files
        state = _installed_state()
        if _listed is None or _listed[0] != state:
            found = {}
            for distribution in metadata.distributions():
                name = distribution.metadata["Name"]
                if name:
                    found[re.sub(r"[-_.]+", "-", name).lower()] = distribution.version
            _listed = (state, dict(sorted(found.items())))
        return dict(_listed[1])


def image() -> dict | None:
    """The image's lock-file hash and build labels; None outside the kit image."""
    if not settings.IMAGE_LOCK.is_file():
        return None
    labels = {
        name.removeprefix(settings.IMAGE_ENV_PREFIX).lower(): value
        for name, value in sorted(os.environ.items())
        if name.startswith(settings.IMAGE_ENV_PREFIX)
    }
    return {"lock_sha256": sha256(settings.IMAGE_LOCK), "labels": labels}


def git(directory: str | os.PathLike = ".") -> dict:
    """The commit and dirty flag (tracked files changed) of the repository holding ``directory``."""
    if shutil.which("git") is None:
        return {"commit": None, "dirty": None, "note": "git is not installed"}

    def ask(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True)

    head = ask("rev-parse", "HEAD")
    if head.returncode != 0:
        said = head.stderr.strip().splitlines()[-1] if head.stderr.strip() else "git rev-parse failed"
        note = "not in a git repository" if "not a git repository" in said else said.removeprefix("fatal: ")
        return {"commit": None, "dirty": None, "note": note}
    status = ask("status", "--porcelain", "--untracked-files=no")
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def environment(project: str | os.PathLike = ".") -> dict:
    """The environment report: what ``kit env`` prints and every run records (with its threads and seed)."""
    return {
        "kit": __version__,
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "libc": "-".join(platform.libc_ver()),
        },
        "cpu": threads.cpu_report(),
        "image": image(),
        "git": {"project": str(Path(project).resolve()), **git(project)},
        "packages": packages(),
    }
