"""What a folder holds, to compare before and after a command."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def _content(path: Path) -> str | None:
    """A file's sha256 (a symlink's target), so that a file rewritten with the same size and time still differs."""
    if path.is_symlink():
        return f"-> {os.readlink(path)}"
    if not path.is_file() or not os.access(path, os.R_OK):
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under ``root``: size, modification time, mode and content's sha256 (folders that
    cannot be read: skipped)."""
    found = {}
    for folder, directories, files in os.walk(root):
        for name in directories + files:
            path = Path(folder, name)
            info = path.lstat()
            size = 0 if path.is_dir() else info.st_size
            found[str(path.relative_to(root))] = (size, info.st_mtime_ns, info.st_mode, _content(path))
    return found


def unlock(root: Path) -> None:
    """Make every folder under ``root`` usable again (after a test closed some), so that it can be removed."""
    for parent, directories, _ in os.walk(root):  # top-down: a folder is opened after its parent was unlocked
        for name in directories:
            Path(parent, name).chmod(0o755)
