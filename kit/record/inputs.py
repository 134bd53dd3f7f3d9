"""The inputs of a run: every file its notebook read, and what it declared, in ``inputs.json``.

The kernel notes each file as the notebook opens it (:mod:`kit.tracking.inputs`, an audit hook) in the record's
journal ``.inputs.jsonl``: the path as given, its identity when first opened (size, mtime, inode), and its sha256
once a background thread has hashed it. When the run ends, :func:`fold` turns the journal into ``inputs.json``:
a file the kernel had no time to hash is hashed then, and a file whose identity changed between its first open
and the end of the run (and whose content changed: a touched file is not) is flagged ``changed``. Nothing here
ever blocks on a FIFO or a device (they are recorded, never opened) or fails a run: a file that cannot be read is
recorded with the reason it was not hashed.

Readers: :func:`read_inputs` (a run recorded before kit recorded inputs has none), :func:`check_now` (what
``kit verify`` asks before it executes anything).
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kit.record import codec
from kit.record.hashing import CHUNK, sha256_of
from kit.record.jsonfile import read_json
from kit.record.layout import RunLayout

#: What an input is: a file read, or a value declared with ``kit.log_input`` (a table, a URL: nothing kit can read).
FILE, DECLARED = "file", "declared"
#: A journal holds at most this many lines (a notebook opening millions of files gets the first ones).
MAX_LINES = 1_000_000


@dataclass(frozen=True)
class Input(codec.Encodable):
    """One input of a run, as inputs.json records it."""

    #: The path as the notebook gave it (bytes that are not UTF-8 shown as ``\\xNN``), or a declared input's name.
    path: str
    kind: str = FILE
    #: The absolute path with symlinks resolved (None for a declared input).
    resolved: str | None = None
    #: ``resolved``'s bytes in base64 when they are not UTF-8 (``resolved`` then shows them as ``\\xNN``).
    resolved_b64: str | None = None
    #: ``file``, ``fifo``, ``character device``, ``block device``, ``socket``, ``directory``: only files are hashed.
    type: str | None = None
    size: int | None = None
    sha256: str | None = None
    #: A declared input's digest, as ``kit.log_input`` was given it.
    digest: str | None = None
    #: Last modification, UTC, ISO 8601.
    mtime: str | None = None
    #: Declared with ``kit.input_path`` or ``kit.log_input`` rather than seen by the kernel.
    declared: bool = False
    #: It changed (or went away) while the run read it: ``sha256`` is of what was there when first hashed.
    changed: bool = False
    #: The run wrote it before reading it: produced by the run, not an input ``kit verify`` checks.
    written: bool = False
    #: Why there is no ``sha256`` (a FIFO, unreadable, deleted before it was hashed), or what ``changed`` means.
    note: str | None = None

    @property
    def fs_path(self) -> str | bytes | None:
        """The resolved path as the file system knows it (bytes when they are not UTF-8)."""
        if self.resolved_b64 is not None:
            return base64.b64decode(self.resolved_b64)
        return self.resolved

    @property
    def checkable(self) -> bool:
        """Whether ``kit verify`` can compare it with what is there now: a file read with a hash, not produced."""
        return self.kind == FILE and self.sha256 is not None and not self.written

    @property
    def identity(self) -> str | None:
        """What must match for a re-run to read the same input: its sha256, or a declared input's digest."""
        return self.sha256 or self.digest


def check_inputs(data: Any) -> tuple[Input, ...]:
    """inputs.json's entries; ValueError naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), list):
        raise ValueError("is not a JSON object with a list 'inputs'")
    return tuple(Input.from_dict(entry) for entry in data["inputs"])


def read_inputs(root: Path) -> tuple[Input, ...]:
    """The inputs recorded in the run at ``root``; none for a run recorded before kit recorded inputs.

    OSError when inputs.json cannot be read, ValueError when it is damaged.
    """
    try:
        data = read_json(RunLayout(Path(root)).inputs)
    except FileNotFoundError:
        return ()
    return check_inputs(data)


def to_json(inputs: list[Input] | tuple[Input, ...], problems: list[str] = ()) -> dict[str, Any]:
    """inputs.json's content: the inputs, and what kept some from being recorded (a journal cut short)."""
    return {"inputs": [entry.to_dict() for entry in inputs], "problems": list(problems)}


# --- identities and hashes, shared by the kernel's capture and the end of a run -------------------------------


def identity_of(st: os.stat_result) -> list[int]:
    """What tells a file's content may have changed: size, mtime (ns), inode, device."""
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


_TYPES = (
    (stat.S_ISREG, "file"),
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISDIR, "directory"),
)


def type_of(mode: int) -> str:
    return next((name for test, name in _TYPES if test(mode)), "other")


def open_regular(path: str | bytes) -> io.FileIO:
    """``path`` opened for reading, unbuffered; OSError unless it is a regular file.

    Opened without blocking and checked to be a regular file before one byte is read: a path replaced by a FIFO
    since it was looked at never hangs the caller.
    """
    file = io.FileIO(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb")
    if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
        file.close()
        raise IsADirectoryError(0, "not a regular file")
    return file


def hash_file(path: str | bytes) -> tuple[str, list[int]]:
    """The sha256 of the regular file at ``path`` and its identity once hashed; OSError when it cannot be."""
    with open_regular(path) as file:
        return sha256_of(file), identity_of(os.fstat(file.fileno()))


def hashed_event(resolved: str | bytes, sha256: str, identity: list[int]) -> dict[str, Any]:
    """What the journal says of a file hashed: its sha256, and its identity (and resolved path) when it was."""
    return {"hashed": 1, "resolved": resolved, "sha256": sha256, "hashed_stat": identity}


def unhashed_event(error: OSError) -> dict[str, Any]:
    """What the journal says of a file that could not be hashed, and why."""
    return {"unhashed": f"cannot be read ({error.strerror or 'not a regular file'}): not hashed"}


class Hashing:
    """The sha256 of one large regular file, taken a step at a time: a thread may stop between steps, another go on.

    :attr:`event` is the journal's account of it once done.
    """

    def __init__(self, resolved: str) -> None:
        self.resolved = resolved
        self.event: dict[str, Any] | None = None
        self._file: io.FileIO | None = None
        self._digest = hashlib.sha256()
        self._buffer = memoryview(b"")

    def step(self) -> bool:
        """Hash the next :data:`~kit.record.hashing.CHUNK` bytes: False once the whole file is, or cannot be."""
        if self.event is not None:
            return False
        try:
            if self._file is None:
                self._file = open_regular(self.resolved)
                self._buffer = memoryview(bytearray(CHUNK))
            read = self._file.readinto(self._buffer)
            if read:
                self._digest.update(self._buffer[:read])  # without the GIL, as the read
                return True
            identity = identity_of(os.fstat(self._file.fileno()))
            self.event = {"abs": self.resolved, **hashed_event(self.resolved, self._digest.hexdigest(), identity)}
        except OSError as error:
            self.event = {"abs": self.resolved, **unhashed_event(error)}
        if self._file is not None:
            self._file.close()
        self._buffer = memoryview(b"")
        return False


def text(path: str | bytes) -> tuple[str, str | None]:
    """A path as JSON text, and its bytes in base64 when they are not UTF-8 (shown as backslash escapes in the text)."""
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), base64.b64encode(raw).decode()


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="microseconds")


# --- the journal the kernel writes, folded into inputs.json -----------------------------------------------------


def journal_line(event: dict[str, Any]) -> bytes:
    """One journal line: JSON with every non-ASCII character escaped, so a path that is not UTF-8 survives."""
    return json.dumps(event, ensure_ascii=True).encode() + b"\n"


def _events(journal: Path) -> tuple[list[dict], list[str]]:
    problems = []
    try:
        with open(journal, "rb") as file:
            lines = list(itertools.islice(file, MAX_LINES + 1))
    except FileNotFoundError:
        return [], problems
    except OSError as error:
        return [], [f"the input journal cannot be read ({error.strerror})"]
    if len(lines) > MAX_LINES:
        problems.append(f"the input journal has more than {MAX_LINES} lines: the rest are not recorded")
        del lines[MAX_LINES:]
    return [event for event in _decoded(lines) if isinstance(event, dict)], problems


def _decoded(lines: list[bytes]) -> list[Any]:
    """The journal's lines as JSON values: parsed as one list (fast), else line by line, skipping damaged ones."""
    try:
        return json.loads(b"[" + b",".join(line.rstrip(b"\n") for line in lines) + b"]")
    except ValueError:
        pass
    found = []
    for line in lines:
        try:
            found.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a kernel that died mid-write
    return found


@dataclass
class _Seen:
    """One file as the journal tells it: how the notebook named it, what it was when first read, its hash."""

    given: str
    first: list[int] | None
    declared: bool
    written: bool
    kind: str
    resolved: str | None = None
    sha256: str | None = None
    hashed: list[int] | None = None
    note: str | None = None


def _settle(seen: _Seen, path: str) -> Input:
    """The input ``seen`` at ``path`` (its absolute path), compared with what is there at the end of the run."""
    resolved = seen.resolved or os.path.realpath(path)
    shown, raw = text(resolved)
    entry = {"path": text(seen.given)[0], "resolved": shown, "resolved_b64": raw, "declared": seen.declared,
             "written": seen.written}  # fmt: skip
    if seen.kind != "file":  # a FIFO, a device: recorded, never opened
        return Input(**entry, type=seen.kind, note=f"a {seen.kind}: not hashed")
    sha, hashed, note, changed = seen.sha256, seen.hashed, seen.note, False
    try:
        now = os.stat(resolved)
    except OSError:
        now = None
    if now is None:
        changed, note = True, "deleted or moved before the run ended" + ("" if sha else ": not hashed")
    elif not stat.S_ISREG(now.st_mode):
        changed, note = True, f"replaced by a {type_of(now.st_mode)} before the run ended"
    elif sha is None or identity_of(now) != hashed:
        try:
            sha_now, hashed_now = hash_file(resolved)
        except OSError as error:
            note = note or f"cannot be read ({error.strerror or 'not a regular file'}): not hashed"
        else:
            if sha is not None and sha_now != sha:
                changed, note = True, "its content changed while the run read it"
            elif sha is None and seen.first is not None and identity_of(now)[:2] != seen.first[:2]:
                changed, note = True, "modified after the notebook opened it (hashed at the end of the run)"
            sha, hashed = sha or sha_now, hashed or hashed_now
    if seen.first is not None and hashed is not None and not changed and hashed != seen.first:
        replaced = hashed[2:] != seen.first[2:]
        changed, note = True, "replaced by another file" if replaced else "modified after the notebook opened it"
    known = hashed or seen.first
    size, mtime = (known[0], iso(known[1])) if known else (None, None)
    return Input(**entry, type="file", size=size, sha256=sha, mtime=mtime, changed=changed, note=note)


def fold(journal: Path) -> tuple[list[Input], list[str]]:
    """The inputs a run's journal tells, each file settled at the end of the run; and problems met (never raised).

    Files come in the order the notebook first read them, each once; declared values after them.
    """
    events, problems = _events(journal)
    files: dict[str, _Seen] = {}
    written: set[str] = set()
    declared: dict[str, Input] = {}
    for event in events:
        path = event.get("abs")
        if "wrote" in event and isinstance(path, str):
            written.add(path)
        if "read" in event and isinstance(path, str) and path not in files:
            first = event.get("stat")
            files[path] = _Seen(
                given=str(event["read"]),
                first=first if isinstance(first, list) and len(first) == 4 else None,
                declared=bool(event.get("declared")),
                written=path in written,
                kind=str(event.get("type") or "file"),
            )
        if "hashed" in event and path in files and isinstance(event.get("sha256"), str):  # with the read, or later
            seen = files[path]
            seen.sha256, seen.hashed, seen.resolved = event["sha256"], event.get("hashed_stat"), event.get("resolved")
        elif "unhashed" in event and path in files:
            files[path].note = str(event["unhashed"])
        elif "declared" in event and isinstance(event.get("name"), str):
            name = event["name"]
            declared[name] = Input(path=name, kind=DECLARED, digest=str(event.get("digest")), declared=True)
    inputs = []
    for path, seen in files.items():
        try:
            inputs.append(_settle(seen, path))
        except (OSError, ValueError) as error:  # a path the file system refuses now: recorded as it was seen
            inputs.append(Input(path=text(seen.given)[0], note=f"cannot be looked at ({error})"))
    return inputs + list(declared.values()), problems


# --- what verify asks: are the recorded inputs still there, unchanged? --------------------------------------------


@dataclass(frozen=True)
class Difference:
    """A recorded input that is not what the run read: ``now`` is its sha256 today (None: missing or unreadable)."""

    input: Input
    now: str | None
    problem: str


def check_now(inputs: tuple[Input, ...] | list[Input]) -> list[Difference]:
    """The recorded files that differ from what is there now, in the order they were read.

    A file touched without being changed is the same file. Declared values, FIFOs, files the run wrote itself and
    files recorded without a hash (unreadable ones) cannot be compared and are left out, unless they are gone.
    """
    differences = []
    for entry in inputs:
        if entry.kind == FILE and entry.type == "file" and not entry.written and entry.sha256 is None:
            if entry.fs_path is not None and not os.path.lexists(entry.fs_path):
                differences.append(Difference(entry, None, "is missing"))  # not hashed, but gone all the same
            continue
        if not entry.checkable:
            continue
        path = entry.fs_path
        try:
            now, _ = hash_file(path)
        except FileNotFoundError:
            differences.append(Difference(entry, None, "is missing"))
            continue
        except OSError as error:
            differences.append(Difference(entry, None, f"cannot be read ({error.strerror or 'not a regular file'})"))
            continue
        if now != entry.sha256:
            differences.append(Difference(entry, now, "changed"))
    return differences
