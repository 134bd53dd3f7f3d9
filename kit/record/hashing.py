"""sha256 of files, read in chunks: one helper for artifacts, inputs, notebooks and models alike."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


def sha256_of(file: BinaryIO) -> str:
    """The sha256 of what is left to read in ``file``."""
    digest = hashlib.sha256()
    while chunk := file.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def sha256(path: str | Path) -> str:
    with open(path, "rb") as file:
        return sha256_of(file)
