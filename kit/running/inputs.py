"""Hashing the large files a run's notebook reads, in ``kit run``'s own process while the kernel works.

The kernel's capture (:mod:`kit.tracking.inputs`) hashes a small file as it is opened and notes a large one in the
record's journal unhashed. :class:`Follower` reads the journal as it grows and hashes each large file in a thread of
this process at the lowest CPU priority: the notebook's own work (pandas parses a large CSV on every core) goes
first and the hashing takes the moments a core is free, and no hashing ever holds the kernel's GIL. When the cells
are done, what is left is hashed at once, the thread's file taken over where it stopped, before the journal is
folded into ``inputs.json``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kit.record import inputs as record

#: How often the journal is looked at for files to hash (a read of what it grew by, when it grew).
POLL_S = 0.05
#: The nice value of the hashing thread: the lowest priority, so that the notebook's threads run first.
LOWEST_PRIORITY = 19


class Follower:
    """One run's journal, followed while the kernel runs: each large file it notes hashed once, the result appended."""

    def __init__(self, journal: Path) -> None:
        self._journal = journal
        self._read_fd: int | None = None
        self._offset = 0
        self._partial = b""
        self._queued: set[str] = set()
        self._jobs: deque[record.Hashing] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="kit-inputs", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        """Hash what is left now, at this thread's priority, and append it to the journal; then close."""
        self._stop.set()
        self._thread.join()
        self._read_new()
        while self._jobs:
            job = self._jobs.popleft()
            while job.step():
                pass
            self._write(job)
        self.close()

    def close(self) -> None:
        """Stop following (what is not hashed is left to the end of the run: :func:`kit.record.inputs.fold`)."""
        self._stop.set()
        self._thread.join()
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None

    def _follow(self) -> None:
        _lowest_priority()
        while not self._stop.is_set():
            self._read_new()
            if not self._jobs:
                self._stop.wait(POLL_S)
                continue
            job = self._jobs[0]
            while not self._stop.is_set() and job.step():
                pass
            if job.event is not None:
                self._jobs.popleft()
                self._write(job)

    def _read_new(self) -> None:
        """Queue the large files the journal noted since the last look."""
        if self._read_fd is None:
            try:
                self._read_fd = os.open(self._journal, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return  # not written yet: the kernel is starting
        try:
            grown = os.pread(self._read_fd, max(0, os.fstat(self._read_fd).st_size - self._offset), self._offset)
        except OSError:
            return
        self._offset += len(grown)
        *lines, self._partial = (self._partial + grown).split(b"\n")
        for line in lines:
            if b'"read"' not in line or b'"hashed"' in line:
                continue  # hashed by the kernel, or not a read: most lines, passed over unparsed
            try:
                event = json.loads(line)
            except ValueError:
                continue
            path = event.get("abs") if isinstance(event, dict) else None
            if isinstance(path, str) and path not in self._queued and _to_hash(event):
                self._queued.add(path)
                self._jobs.append(record.Hashing(path))

    def _write(self, job: record.Hashing) -> None:
        try:
            fd = os.open(self._journal, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        except OSError:
            return  # the record is gone: the run is being thrown away
        try:
            os.write(fd, record.journal_line(job.event))
        except OSError:  # the record's disk is full: the end of the run says so
            pass
        finally:
            os.close(fd)


@contextmanager
def hashing_meanwhile(journal: Path) -> Iterator[Follower]:
    """Follow ``journal`` while the block runs; then hash what is left, unless the block was stopped (Ctrl-C)."""
    follower = Follower(journal)
    try:
        yield follower
    except BaseException:
        follower.close()  # what is not hashed yet, the end of the run hashes (or not: stopped again)
        raise
    follower.finish()


def _to_hash(event: dict) -> bool:
    """Whether a journal event is a regular file the kernel read and left to this process to hash."""
    return "read" in event and event.get("type") == "file" and "hashed" not in event and "unhashed" not in event


def _lowest_priority() -> None:
    """Lower the calling thread (not the process) to the lowest priority: Linux gives each thread its own nice value."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)
        except OSError:
            pass
