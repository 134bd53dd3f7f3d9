"""Hidden records (``.ID.partial``): runs being written, and *abandoned* ones whose process is gone.

The process writing a record holds a lock (``flock``) on the ``.lock`` file in it for the run's life
(:mod:`.store`). Whether that lock can be taken tells a running record from an abandoned one (its process was
killed, ran out of memory, or its machine was lost), also across containers sharing the volume: ``flock`` is held
by the kernel of the machine that took it, and the OS lets go of it when the process ends however it ends.

On NFS, Linux takes ``flock`` as a lock on the server (NFSv4, or v3 with its lock manager): a run on another machine
holds it there, so it is seen as running; when that machine is lost, the server frees its locks once its lease
runs out (90 s by default), and only then is the run abandoned. A share mounted with ``nolock`` keeps locks on each
machine only: there, a run on another machine looks abandoned, and ``kit runs clean`` must not be used.

A hidden record without a ``.lock`` (one whose process was killed between making the folder and locking it) counts as
abandoned once it is older than :data:`NO_LOCK_GRACE`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from kit.record import layout, schema
from kit.record.jsonfile import read_json
from kit.record.layout import RunLayout

#: Seconds after which a hidden record with no lock file is abandoned (its process made the folder, then died).
NO_LOCK_GRACE = 60.0


class PartialState(StrEnum):
    """A hidden record's state: its process is writing it, or it is gone."""

    RUNNING = "running"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class Partial:
    """A hidden record: where it is, the run id it is written for, its state, and its status.json if readable."""

    path: Path
    state: PartialState
    info: schema.RunInfo | None

    @property
    def id(self) -> str:
        return layout.partial_run_id(self.path.name)

    @property
    def params(self) -> dict:
        try:
            found = read_json(RunLayout(self.path).params)
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}


@contextmanager
def _taken(path: Path) -> Iterator[bool]:
    """Whether the hidden record's lock could be taken (its process is gone); held inside the block."""
    try:
        descriptor = os.open(RunLayout(path).lock, os.O_RDWR)
    except FileNotFoundError:
        try:
            old = time.time() - path.stat().st_mtime > NO_LOCK_GRACE
        except OSError:  # gone meanwhile (published, or removed)
            old = False
        yield old
        return
    except OSError:  # unreadable: never taken for abandoned
        yield False
        return
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)


def _info(path: Path) -> schema.RunInfo | None:
    try:
        return schema.RunInfo.from_dict(read_json(RunLayout(path).status))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _hidden(runs: Path) -> list[Path]:
    try:
        return sorted(path for path in runs.iterdir() if layout.is_partial(path.name) and path.is_dir())
    except OSError:
        return []


def partials(runs: Path) -> list[Partial]:
    """Every hidden record in ``runs``, running or abandoned, oldest first."""
    found = []
    for path in _hidden(runs):
        with _taken(path) as abandoned:
            state = PartialState.ABANDONED if abandoned else PartialState.RUNNING
        if path.is_dir():
            found.append(Partial(path, state, _info(path)))
    return sorted(found, key=lambda partial: (partial.info.started if partial.info else "", partial.path.name))


def clean(runs: Path) -> list[Partial]:
    """Remove the abandoned hidden records of ``runs`` (never one whose process holds its lock); return them.

    Each is removed while its lock is held here, so a second ``kit runs clean`` at the same time waits or skips it.
    """
    removed = []
    for path in _hidden(runs):
        info = _info(path)
        with _taken(path) as abandoned:
            if abandoned:
                shutil.rmtree(path, ignore_errors=True)
                if not path.exists():
                    removed.append(Partial(path, PartialState.ABANDONED, info))
    return removed
