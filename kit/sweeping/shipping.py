"""Shipping a point to a machine that shares no disk with the sweep, and its record back (Dask's ``ship`` mode).

The client sends each point as a :class:`Parcel` (plain data: its run id, parameters, thread count and timeout,
the notebook's name and sha256) with the notebook's bytes. The worker (:func:`run_parcel`) writes the notebook
into a private folder, prepares the point there and runs it exactly as a local sweep would, then answers with a
:class:`Delivery`: the outcome and every entry of the record (each file's size and sha256), the small files
inline. The record stays in the worker's folder until the client has it: the client (:func:`commit`) writes the
entries into a retryable reservation of its runs directory (:mod:`kit.record.store`), fetching the larger files
``CHUNK`` bytes at a time from the worker that keeps them, checks each file's size and sha256, and publishes the
record with one rename, as a local run is published. A point delivered twice (Dask ran it again after a worker
was lost) is recorded once: the second finds the id taken.

Nothing here knows Dask: :mod:`.dask` runs these functions as tasks and fetches the chunks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.errors import DamagedRecord, KitError, RunIdTaken
from kit.record import Run, store
from kit.record.hashing import CHUNK as READ_CHUNK
from kit.record.schema import Threads
from kit.record.sweep import PointStatus, SweepInfo
from kit.running import Plan, prepare
from kit.shorten import shown_path
from kit.sweeping import point
from kit.sweeping.point import Outcome, recorded

#: Bytes of a file sent in one piece from the worker to the client: the memory a transfer holds at once.
CHUNK = 16 << 20
#: Files are sent inline with the outcome, smallest first, until this many bytes; the rest go in chunks.
INLINE = 4 << 20
#: The largest record a worker sends back unless $KIT_DASK_MAX_RECORD_MB says otherwise (see :mod:`.dask`).
MAX_RECORD_MB = 2048

#: An entry of a record: a folder, a regular file, or a symbolic link (kept as a link).
DIRECTORY, FILE, LINK = "dir", "file", "link"


class Lost(Exception):
    """A piece of a record could not be fetched (its worker left): the point must run again."""


@dataclass(frozen=True)
class Parcel:
    """One point as a worker needs it, besides the notebook's bytes (Dask pickles it: kit is on both sides)."""

    index: int
    run_id: str
    parameters: dict[str, Any]
    threads: Threads
    timeout: float | None
    #: The notebook's file name, as it was given here (status.json shows it), and the sha256 of its bytes.
    notebook_name: str
    notebook: str
    notebook_sha256: str

    @classmethod
    def of(cls, info: SweepInfo, index: int, plan: Plan) -> Parcel:
        return cls(index, plan.run_id, plan.invocation.parameters, info.threads, info.timeout,
                   Path(info.notebook_path).name, plan.invocation.notebook, info.notebook_sha256)  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """One entry of a record, by its POSIX path relative to the record."""

    path: str
    kind: str
    size: int = 0
    sha256: str | None = None
    #: What a link points to.
    target: str | None = None


@dataclass(frozen=True)
class Delivery:
    """What a worker answers for a point: its outcome, and its record's entries (none when it has no record)."""

    outcome: Outcome
    entries: tuple[Entry, ...] = ()
    #: The files sent along, by path; the others are fetched from ``folder`` on the worker at ``worker``.
    inline: dict[str, bytes] = field(default_factory=dict)
    folder: str | None = None
    worker: str | None = None

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.entries)


# On the worker


def run_parcel(parcel: Parcel, notebook: bytes, folder: Path, *, max_bytes: int, stop: threading.Event | None,
               worker: dict[str, str]) -> Delivery:  # fmt: skip
    """Run the point in ``folder`` (private to it) and say what its record holds.

    ``folder`` is removed, unless it keeps files the client fetches later (:func:`discard` removes it then). A record
    larger than ``max_bytes`` is not sent: the point is an error saying so.
    """
    delivery = None
    try:
        delivery = _deliver(parcel, _run(parcel, notebook, folder, stop, worker), folder, max_bytes, worker)
        return delivery
    finally:
        if delivery is None or delivery.folder is None:
            shutil.rmtree(folder, ignore_errors=True)


def _deliver(parcel: Parcel, outcome: Outcome, folder: Path, max_bytes: int, worker: dict[str, str]) -> Delivery:
    address = worker.get("address")
    record = folder / "runs" / outcome.run_id if outcome.run_id else None
    if record is None or not record.is_dir():
        return Delivery(outcome, worker=address)
    entries = tuple(_entries(record))
    total = sum(entry.size for entry in entries)
    if total > max_bytes:
        message = _too_large(entries, total, max_bytes)
        return Delivery(Outcome(parcel.index, PointStatus.ERROR, None, message, outcome.duration_s), worker=address)
    inline, budget = {}, INLINE
    for entry in sorted((entry for entry in entries if entry.kind == FILE), key=lambda entry: entry.size):
        if entry.size > budget:
            break
        inline[entry.path] = (record / entry.path).read_bytes()
        budget -= entry.size
    kept = len(inline) < sum(entry.kind == FILE for entry in entries)
    return Delivery(outcome, entries, inline, str(record) if kept else None, address)


def _run(parcel: Parcel, notebook: bytes, folder: Path, stop: threading.Event | None,
         worker: dict[str, str]) -> Outcome:  # fmt: skip
    if hashlib.sha256(notebook).hexdigest() != parcel.notebook_sha256:
        return Outcome(parcel.index, PointStatus.ERROR, None, "the notebook's bytes changed on their way to the worker")
    work = folder / "work"
    work.mkdir(parents=True)
    path = work / parcel.notebook_name
    path.write_bytes(notebook)
    try:
        plan = prepare(path, parcel.parameters, runs_dir=folder / "runs", run_id=parcel.run_id,
                       timeout=parcel.timeout, threads=parcel.threads)  # fmt: skip
    except KitError as error:  # the worker lacks the notebook's kernel, say
        return Outcome(parcel.index, PointStatus.ERROR, None, str(error))
    # status.json names the notebook as it was given to the sweep; its path is the copy the worker ran.
    plan = dataclasses.replace(plan, invocation=dataclasses.replace(plan.invocation, notebook=parcel.notebook))
    return point.run(parcel.index, plan, stop=stop, worker=worker)


def _entries(record: Path) -> list[Entry]:
    """Every folder, regular file and link of a finished record (other kinds the record already names as problems)."""
    found = []
    for folder, directories, files in os.walk(record):
        directories.sort()
        base = Path(folder)
        for name in sorted(directories) + sorted(files):
            path = base / name
            relative = path.relative_to(record).as_posix()
            if path.is_symlink():
                found.append(Entry(relative, LINK, target=os.readlink(path)))
            elif path.is_dir():
                found.append(Entry(relative, DIRECTORY))
            elif path.is_file():
                found.append(Entry(relative, FILE, path.stat().st_size, _sha256(path)))
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while piece := file.read(READ_CHUNK):
            digest.update(piece)
    return digest.hexdigest()


def _too_large(entries: tuple[Entry, ...], total: int, max_bytes: int) -> str:
    largest = max((entry for entry in entries if entry.kind == FILE), key=lambda entry: entry.size)
    return (f"its record is {total / 1e6:.0f} MB ({largest.path} {largest.size / 1e6:.0f} MB), more than the "
            f"{max_bytes >> 20} MB a Dask worker sends back: save large files to storage the client reads, or raise "
            "KIT_DASK_MAX_RECORD_MB")  # fmt: skip


def read_chunk(record: str, path: str, offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset`` of the file ``path`` of a record kept on this worker."""
    root = Path(record).resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        raise ValueError(f"{path!r} is not in the record")
    with open(target, "rb") as file:
        file.seek(offset)
        return file.read(size)


def discard(record: str) -> None:
    """Remove the folder of a point whose record the client has (the record's folder is ``FOLDER/runs/ID``)."""
    shutil.rmtree(Path(record).parent.parent, ignore_errors=True)


# On the client


def commit(delivery: Delivery, runs: Path, fetch: Callable[[str, int, int], bytes]) -> Outcome:
    """Write the delivered record into ``runs`` and publish it, once; its outcome as that record says.

    ``fetch(path, offset, size)`` gives the bytes of a file not sent inline (Lost when they cannot be had: nothing
    is then left behind, and the point should run again). A record already published under the point's id (an
    earlier delivery) is the outcome, and nothing is written.
    """
    outcome = delivery.outcome
    if outcome.run_id is None or not delivery.entries:
        return outcome
    final = runs / outcome.run_id
    if final.is_dir():
        return _recorded(outcome.index, final)
    reservation = store.reserve(runs, outcome.run_id, outcome.run_id, retryable=True)
    try:
        for entry in delivery.entries:
            _write(reservation.path, entry, delivery.inline.get(entry.path), fetch)
        os.chmod(reservation.path, 0o755)
        path = reservation.publish()
    except RunIdTaken:
        path = final
    except BaseException:
        shutil.rmtree(reservation.path, ignore_errors=True)
        raise
    return _recorded(outcome.index, path)


def _recorded(index: int, path: Path) -> Outcome:
    try:
        return recorded(index, Run.open(path))
    except DamagedRecord as error:
        return Outcome(index, PointStatus.ERROR, path.name, str(error))


def _write(root: Path, entry: Entry, data: bytes | None, fetch: Callable[[str, int, int], bytes]) -> None:
    target = root / entry.path
    if not target.resolve().is_relative_to(root.resolve()) or ".." in Path(entry.path).parts:
        raise Lost(f"the record's entry {entry.path!r} is outside the record")
    if entry.kind == DIRECTORY:
        target.mkdir(exist_ok=True)
        return
    if entry.kind == LINK:
        os.symlink(entry.target or "", target)
        return
    digest, written = hashlib.sha256(), 0
    with open(target, "xb") as file:
        if data is not None:
            file.write(data)
            digest.update(data)
            written = len(data)
        while written < entry.size:
            piece = fetch(entry.path, written, min(CHUNK, entry.size - written))
            if not piece:
                break
            file.write(piece)
            digest.update(piece)
            written += len(piece)
    if written != entry.size or digest.hexdigest() != entry.sha256:
        raise Lost(f"{shown_path(entry.path)} arrived damaged ({written} of {entry.size} bytes, or another sha256)")
