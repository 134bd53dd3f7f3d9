"""The audit trail of ``kit serve --audit-log PATH``: one JSON line per inference request, never torn.

Each line says when, which request (the protocol's ``id``, or one made up and returned), from where, which model
(name, run, sha256 of its file), the sha256 of the input tensor's bytes (float64, rows in order: never the data,
which may be patients'), the rows, the status and the latency; the outputs only with ``--audit-outputs``.

Each line is one ``write`` to a file opened with ``O_APPEND``: the kernel appends it whole, so lines from several
workers never interleave and a ``kill -9`` leaves whole lines only (at worst the last request unlogged). When the
file passes ``max_bytes`` it is renamed PATH.TIMESTAMP and a new one begun.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from kit.errors import ServeError
from kit.shorten import shown_path

#: Rotate past this size (a line is ~350 bytes: about 300,000 requests per file).
MAX_BYTES = 100 << 20
log = logging.getLogger("kit.serve")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class AuditLog:
    """An append-only JSON-lines file shared by the server's workers."""

    def __init__(self, path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> None:
        self.path, self.max_bytes = Path(path), max_bytes
        self.fd = self._open()

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        except IsADirectoryError:
            raise ServeError(f"--audit-log {shown_path(self.path)} is a folder: pass a file in it") from None
        except OSError as error:
            raise ServeError(
                f"--audit-log {shown_path(self.path)} cannot be written ({error.strerror}): pass a file in a folder "
                "the server may write"
            ) from None

    def write(self, entry: dict) -> None:
        line = (json.dumps(entry, separators=(",", ":"), allow_nan=False, default=str) + "\n").encode()
        try:
            written = os.write(self.fd, line)  # one write of the whole line: O_APPEND keeps it whole
            if written != len(line):
                log.error("the audit log %s is full: a line was cut at %d bytes", self.path, written)
            if os.fstat(self.fd).st_size > self.max_bytes:
                self._rotate()
        except OSError as error:
            log.error("cannot write the audit log %s: %s", self.path, error.strerror)

    def _rotate(self) -> None:
        """Rename the full file (only if it is still the one at ``path``: another worker may have done it already)."""
        try:
            if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
                os.rename(self.path, self.path.with_name(f"{self.path.name}.{stamp}"))
        except FileNotFoundError:
            pass
        fd, self.fd = self.fd, self._open()
        os.close(fd)

    def close(self) -> None:
        os.close(self.fd)
