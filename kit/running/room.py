"""When the runs directory cannot keep a run's record (it filled up, or turned read-only, during the run).

What the run wrote is removed, so that the disk is not left full by a record nobody can use, and a *small failed
record* takes its place when it fits: its parameters, the metrics it logged, the notebook as given (not the
executed one, which may be large), an empty artifacts folder and a status.json saying why. So ``kit runs`` still
shows that the run happened and why its results are gone, for a few kilobytes. When even that does not fit, or the
directory is read-only or no longer writable (nothing can be removed or written there), the hidden record is left
as it is (``kit runs`` lists it as abandoned, ``kit runs clean`` removes it) and the error says where.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Any

from kit.errors import RecordNotKept
from kit.record import Failure, RunInfo, RunStatus, store
from kit.record.jsonfile import read_json, write_json
from kit.record.layout import RunLayout


def _size(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"


def not_kept(reservation: store.Reservation, info: RunInfo, problem: str, notebook: dict,
             environment: dict[str, Any]) -> RecordNotKept:  # fmt: skip
    """Remove what the run wrote, keep a small failed record if it fits; the error to raise says which."""
    runs = reservation.final.parent
    record = RunLayout(reservation.path)
    metrics, params = _small(record.metrics), _small(record.params) or info.invocation.parameters
    size = _size(reservation.path)
    fix = store.room_fix(runs, problem)
    if problem not in store.FULL:  # read-only or unwritable: nothing can be removed there, nor written
        reservation.release()
        return RecordNotKept(runs, problem, None, reservation.path, fix)
    shutil.rmtree(reservation.path, ignore_errors=True)
    reservation.release()
    said = f"runs directory {runs} {problem}: what the run wrote ({_megabytes(size)}) was removed"
    small = dataclasses.replace(info, status=RunStatus.FAILED, failure=Failure("RecordNotKept", said))
    try:
        kept = _small_record(reservation, small, params, metrics, notebook, environment)
    except OSError:
        shutil.rmtree(reservation.path, ignore_errors=True)
        kept = None
    return RecordNotKept(runs, f"{problem} ({_megabytes(size)} written)", kept, None, fix)


def _small(path: Path) -> dict:
    """A small JSON file of the record (params, metrics) as it was written, or {}."""
    try:
        data = read_json(path) if path.stat().st_size < 1 << 20 else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _small_record(reservation: store.Reservation, info: RunInfo, params: dict, metrics: dict, notebook: dict,
                  environment: dict[str, Any]) -> Path:  # fmt: skip
    record = RunLayout(reservation.path)
    reservation.path.mkdir()
    write_json(record.params, params)
    write_json(record.metrics, metrics)
    store.complete(record, notebook, environment)
    write_json(record.status, info.to_dict())
    os.rename(reservation.path, reservation.final)
    return reservation.final
