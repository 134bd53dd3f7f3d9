"""sha256 of files, read in chunks: one helper for artifacts, inputs, notebooks and models alike."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

#: What one read takes of a file being hashed: a few system calls (and GIL hand-overs) a gigabyte, and no copies:
#: read into one buffer, hashed from it without the GIL.
CHUNK = 4 << 20


def sha256_of(file: BinaryIO) -> str:
    """The sha256 of what is left to read in ``file``."""
    digest = hashlib.sha256()
    buffer = memoryview(bytearray(CHUNK))
    while read := file.readinto(buffer):
        digest.update(buffer[:read])
    return digest.hexdigest()


def sha256(path: str | Path) -> str:
    with open(path, "rb") as file:
        return sha256_of(file)
