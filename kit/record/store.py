"""Writing records into the runs directory: checking it, reserving an id, completing the record, publishing it.

A record is written in a hidden ``.ID.partial`` directory, whose creation reserves the id (``mkdir`` is
atomic), and renamed to ``ID`` when complete: a crash never leaves a record that looks complete, and records
written at the same time, by threads, processes or machines sharing a volume, each keep their own.

A sweep's point may be attempted again after the machine running it died, leaving its hidden directory behind: a
*retryable* reservation writes in a hidden directory of its own attempt, ``.ID+ATTEMPT.partial``, and the first
attempt to rename its complete record to ``ID`` takes the id (the rename fails onto a finished record), so a point
is recorded once, however many attempts ran.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.errors import RunIdError, RunIdTaken, RunsDirError
from kit.record import layout, manifest, schema
from kit.record.jsonfile import read_json, write_json
from kit.record.layout import RunLayout

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: Generated ids carry 32 random bits; a collision is retried with fresh ones.
_ATTEMPTS = 8


def check_run_id(run_id: str) -> str:
    """``run_id`` if it can name a run directory; RunIdError saying what is allowed otherwise."""
    if not isinstance(run_id, str) or not run_id:
        raise RunIdError(str(run_id), "is empty: pass a name such as --run-id baseline, or leave it out")
    if len(run_id) > layout.MAX_RUN_ID:
        raise RunIdError(run_id, f"is {len(run_id)} characters long: use at most {layout.MAX_RUN_ID}")
    if not _RUN_ID.fullmatch(run_id) or run_id in layout.RESERVED:
        raise RunIdError(run_id, "is not allowed: use letters, digits, '.', '_' and '-' (not 'scratch' or 'sweeps')")
    return run_id


def new_run_id(stem: str) -> str:
    """A sortable id that does not collide: ``20261122-101530-train_tabular-3f9a0c12``."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:40] or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}-{secrets.token_hex(4)}"


def check_runs_dir(runs: Path) -> Path:
    """``runs`` if a run can be written there (it, or its nearest existing parent, is a writable directory)."""
    existing = runs
    try:
        while not existing.exists():
            if existing.parent == existing:
                break
            existing = existing.parent
        if not existing.is_dir():
            problem = "is a file, not a directory" if existing == runs else f"cannot be made: {existing} is a file"
            raise RunsDirError(runs, problem)
    except (OSError, ValueError) as error:  # a name too long, a NUL byte
        raise RunsDirError(runs, f"cannot be used ({getattr(error, 'strerror', None) or error})") from None
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "is" if existing == runs else f"cannot be made: {existing} is"
        raise RunsDirError(runs, f"{where} not writable{_whose(existing)}")
    return runs


def _whose(folder: Path) -> str:
    """Whose ``folder`` is and what works, when it is another user's ("" when it is ours).

    Most often a project mounted into the image, whose default user (UID 1000) is not the folder's owner.
    """
    try:
        owner = folder.stat().st_uid
    except OSError:
        return ""
    if owner == os.getuid():
        return ""
    return (
        f" (UID {owner}'s; kit runs as UID {os.getuid()}: in the image, "
        '`docker run --user "$(id -u):$(id -g)" ...` runs it as you)'
    )


@dataclass
class Reservation:
    """A record being written: its hidden directory, the name it gets when complete, and when it started."""

    path: Path
    final: Path
    started: float = field(default_factory=time.time)
    #: Another attempt may write the same id (see the module): the first complete one takes it.
    retryable: bool = False

    @property
    def run_id(self) -> str:
        return self.final.name

    def publish(self) -> Path:
        """Give the complete record its id, in one rename.

        RunIdTaken when a retryable record's id was taken by another attempt first: this attempt's record, a
        duplicate, is removed.
        """
        try:
            os.rename(self.path, self.final)
        except OSError as error:
            if self.retryable and error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                shutil.rmtree(self.path, ignore_errors=True)
                raise RunIdTaken(self.run_id, self.final.parent) from None
            raise RunsDirError(
                self.final.parent, f"did not take the finished record ({error.strerror}); it is kept in {self.path}"
            ) from None
        return self.final


def reserve(runs: Path, run_id: str | None, stem: str, *, retryable: bool = False) -> Reservation:
    """Reserve ``run_id`` (or a new id made from ``stem``) in ``runs``; RunIdTaken when a given id is taken.

    ``retryable`` (a sweep's point, with its id given): an earlier attempt's hidden directory does not stop this
    one, a finished record of that id does.
    """
    check_runs_dir(runs)
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunsDirError(runs, f"cannot be made ({error.strerror})") from None
    for _ in range(_ATTEMPTS):
        candidate = check_run_id(run_id) if run_id is not None else new_run_id(stem)
        attempt = secrets.token_hex(4) if retryable else None
        partial, final = runs / layout.partial_name(candidate, attempt), runs / candidate
        try:
            if final.exists():
                raise FileExistsError(final)
            partial.mkdir()
        except FileExistsError:
            if run_id is not None:
                raise RunIdTaken(run_id, runs) from None
            continue
        except OSError as error:
            raise RunsDirError(runs, f"cannot be written ({error.strerror})") from None
        return Reservation(partial.resolve(), final, retryable=retryable)
    raise RunsDirError(runs, f"gave no free run id in {_ATTEMPTS} attempts")


def complete(record: RunLayout, notebook: dict, environment: dict[str, Any]) -> list[str]:
    """Write every file the record still lacks; return what could not be done right (the run then failed).

    ``notebook`` is the notebook as given, kept when the executed one was not saved; ``environment`` is what the run
    ran on, to which the note ``kit.seed_everything`` left in the record is added.
    """
    problems = []
    os.chmod(record.root, 0o755)  # a notebook that took its own write permission does not stop its record
    try:
        executed = read_json(record.notebook)
        if not isinstance(executed, dict) or "cells" not in executed:
            raise ValueError("is not a notebook")
    except (OSError, ValueError) as error:
        problems.append(f"the executed notebook was not saved ({error}): notebook.ipynb is the notebook as given")
        write_json(record.notebook, notebook)
    record.artifacts.mkdir(exist_ok=True)
    try:
        schema.check_metrics(read_json(record.metrics))
    except FileNotFoundError:
        write_json(record.metrics, {})
    except (OSError, ValueError) as error:
        problems.append(f"metrics.json was damaged in the run ({error}): replaced by {{}}")
        write_json(record.metrics, {})
    entries, unreadable = manifest.manifest(record.artifacts)
    problems += unreadable
    write_json(record.manifest, entries)
    try:
        seeded = read_json(record.seeded)
    except FileNotFoundError:
        seeded = None
    except (OSError, ValueError) as error:
        seeded = None
        problems.append(f"kit.seed_everything's note was damaged ({error})")
    record.seeded.unlink(missing_ok=True)
    write_json(record.environment, {**environment, "seed": seeded})
    record.kernel_log.touch()
    return problems
