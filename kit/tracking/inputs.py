"""Recording the files a notebook reads, from inside its kernel: an audit hook ``kit run`` installs at start.

Python raises the audit event ``open`` for every file opened through it (``open()``, ``pandas.read_csv``,
``numpy.load``, ``io.open_code``, ``os.open``), before the file is opened. The hook looks at each file the first
time it is opened for reading (one ``stat``; a FIFO or a device is never opened) and notes it in the record's
journal: a small file hashed at once (what the notebook is about to read, even if it deletes it next), a large one
left to ``kit run``'s own process, which hashes it while the notebook goes on (:mod:`kit.running.inputs`), out of
the kernel's way. :func:`kit.record.inputs.fold` turns the journal into ``inputs.json`` when the run ends.

Left out: what the image pins (the interpreter's prefixes, site-packages, ``/usr``, ``/etc``), ``/proc``, ``/sys``,
``/dev``, tools' own caches and settings in the home directory, compiled ``.pyc`` files, the run's own record, kit's
own files, and the paths in ``$KIT_INPUTS_EXCLUDE``. Reads Python does not see (TensorFlow's C++ readers, a
database, a URL) are declared with :func:`input_path` and :func:`log_input`.

The hook never fails or blocks the notebook's own ``open``: whatever goes wrong in it is swallowed, and a file it
cannot look at is recorded with the reason. It is cheap: a file already seen costs a dictionary look-up, a new
small file a handful of system calls (its resolved path comes from ``/proc/self/fd``, not one ``lstat`` per folder).
"""

from __future__ import annotations

import hashlib
import os
import site
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kit import settings
from kit.errors import InputError
from kit.record import inputs as record
from kit.record.layout import RunLayout

#: Folders under the home directory where tools keep their settings and caches, never a notebook's data.
HOME_TOOL_FOLDERS = (".cache", ".config", ".ipython", ".jupyter", ".local", ".matplotlib", ".keras/keras.json")
#: Folders the image provides (and pins), and the kernel's views of the system.
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev", "/usr", "/etc", "/bin", "/lib", "/lib64", "/sbin", "/run")
#: Files up to this size are hashed as they are opened (the time of a few system calls); larger ones by ``kit run``.
INLINE_BYTES = 1 << 20
#: Where Linux tells the path of an open file, symlinks resolved (one system call, where realpath makes one a folder).
FD_PATHS = "/proc/self/fd"
#: How a file is opened to be hashed: never blocking (a FIFO swapped in since its ``stat``), never a terminal.
OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
#: A folder given to :func:`input_path` records at most this many files.
MAX_FOLDER_FILES = 100_000

#: kit's own files (this module is kit/tracking/inputs.py).
KIT = Path(__file__).resolve().parents[1]

_capture: Capture | None = None


def _folders(paths) -> list[str]:
    """Each path absolute and with symlinks resolved (both forms kept), as prefixes ending in a separator."""
    found = []
    for path in paths:
        if not path:
            continue
        for form in (os.path.abspath(path), os.path.realpath(path)):
            found.append(form.rstrip(os.sep) + os.sep)
    return found


def excluded_paths(run_dir: Path) -> tuple[str, ...]:
    """What the capture leaves out, as path prefixes: the environment, the record, kit, the user's exclusions."""
    home = Path.home()
    environment = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages()]
    user = os.environ.get(settings.INPUTS_EXCLUDE_ENV, "").split(os.pathsep)
    return tuple(
        _folders(
            [
                *environment,
                site.getusersitepackages(),
                *SYSTEM_FOLDERS,
                *(str(home / folder) for folder in HOME_TOOL_FOLDERS),
                str(run_dir),
                str(KIT),
                *user,
            ]
        )
    )


class Capture:
    """The files one kernel reads, noted in the run's journal; small ones hashed as they are opened.

    The hook may run in any of the kernel's threads (pandas reads a large CSV with several): one lock makes "first
    open" mean first, so a file is noted and hashed once however often, and from however many threads, it is opened.
    """

    def __init__(self, journal: Path, excluded: tuple[str, ...]) -> None:
        self._fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.excluded = excluded
        #: Absolute paths (as given and resolved) already looked at: read, written, excluded or not there.
        self.seen: set[str] = set()
        self.written: set[str] = set()
        self._lock = threading.Lock()
        self._local = threading.local()
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._lock = threading.Lock()  # a thread that held it at the fork does not exist in the child

    def excludes(self, absolute: str) -> bool:
        """Whether an absolute path is left out: it is, or is in, one of the excluded paths."""
        return (absolute + os.sep).startswith(self.excluded)

    # the hook: fast, and never raises

    def hook(self, event: str, args: tuple) -> None:
        if event != "open" or getattr(self._local, "busy", False):
            return
        self._local.busy = True  # what the hook itself does (stat, open) must not come back into it
        try:
            path, _, flags = args
            if path is not None and not isinstance(path, int):
                self.opened(path, flags if isinstance(flags, int) else os.O_RDONLY)
        except Exception:  # noqa: BLE001, S110 - a hook that fails would fail the notebook's own open
            pass
        finally:
            self._local.busy = False

    def opened(self, path: Any, flags: int, *, declared: bool = False) -> None:
        """Note ``path``, opened with ``flags``: the first read of a file, or a write before any read."""
        given = os.fsdecode(os.fspath(path))
        absolute = os.path.abspath(given)
        if absolute in self.seen:
            return  # the common case, decided without the lock: a file opened again
        if not declared and (self.excludes(absolute) or absolute.endswith(".pyc")):
            return
        with self._lock:
            self._opened(given, absolute, flags & os.O_ACCMODE, flags, declared)

    def _opened(self, given: str, absolute: str, access: int, flags: int, declared: bool) -> None:
        if absolute not in self.seen and absolute not in self.written and _writes(access, flags, absolute):
            self.written.add(absolute)  # created or rewritten by the run before it read it: not an input
            self._note({"wrote": 1, "abs": os.path.realpath(absolute)})
        if access == os.O_WRONLY or absolute in self.seen:
            return
        self.seen.add(absolute)
        try:
            st = os.stat(absolute)
        except OSError:
            self.seen.discard(absolute)  # not there: the open fails, nothing was read
            return
        kind = record.type_of(st.st_mode)
        if kind == "directory":
            return  # a folder opened to list it (os.walk, shutil): its files are what is read
        if kind == "file" and st.st_size <= INLINE_BYTES:
            event = self._read_small(given, absolute, declared)
        else:
            event = self._look(given, absolute, st, kind, declared)
        if event is not None:
            self._note(event)

    def _resolved(self, absolute: str, declared: bool, found: str | None = None) -> str | None:
        """``absolute`` with symlinks resolved (``found`` when already known); None when that is left out or seen."""
        resolved = os.path.realpath(absolute) if found is None else found
        if resolved != absolute:
            if (not declared and self.excludes(resolved)) or resolved in self.seen:
                return None
            self.seen.add(resolved)
        return resolved

    def _look(self, given: str, absolute: str, st: os.stat_result, kind: str, declared: bool) -> dict | None:
        """The event for a file not hashed here: a large one (``kit run`` hashes it), a FIFO, a device."""
        resolved = self._resolved(absolute, declared)
        if resolved is None:
            return None
        return self._event(given, resolved, st, kind, declared)

    def _read_small(self, given: str, absolute: str, declared: bool) -> dict | None:
        """The event for a small regular file, hashed now: opened once, resolved through that open, read in one go."""
        try:
            fd = os.open(absolute, OPEN_FLAGS)
        except OSError as error:
            resolved = self._resolved(absolute, declared)
            if resolved is None:
                return None
            try:
                st = os.stat(resolved)
            except OSError:
                self.seen.discard(absolute)  # gone since its stat: nothing was read
                return None
            event = self._event(given, resolved, st, record.type_of(st.st_mode), declared)
            return {**event, **record.unhashed_event(error)}
        try:
            resolved = self._resolved(absolute, declared, _path_of(fd))
            if resolved is None:
                return None
            st = os.fstat(fd)
            kind = record.type_of(st.st_mode)
            event = self._event(given, resolved, st, kind, declared)
            if kind != "file":  # swapped for a FIFO or a device since its stat: not read
                return event
            try:
                data = _read_all(fd, st.st_size)
            except OSError as error:
                return {**event, **record.unhashed_event(error)}
            # the identity it had when opened: a change since, the end of the run sees (and re-hashes to tell)
            hashed = event["stat"] if len(data) == st.st_size else record.identity_of(os.fstat(fd))
            return {**event, **record.hashed_event(resolved, hashlib.sha256(data).hexdigest(), hashed)}
        finally:
            os.close(fd)

    @staticmethod
    def _event(given: str, resolved: str, st: os.stat_result, kind: str, declared: bool) -> dict:
        event = {"read": given, "abs": resolved, "stat": record.identity_of(st), "type": kind}
        if declared:
            event["declared"] = 1
        return event

    def _note(self, event: dict) -> None:
        try:
            os.write(self._fd, record.journal_line(event))
        except OSError:  # the record's disk is full: the end of the run says so
            pass

    def declare(self, name: str, digest: str) -> None:
        self._note({"declared": 1, "name": name, "digest": digest})


def _path_of(fd: int) -> str | None:
    """The path of the file open as ``fd``, symlinks resolved, as Linux tells it; None when it cannot."""
    try:
        found = os.readlink(f"{FD_PATHS}/{fd}")
    except OSError:
        return None  # no /proc here: resolved the slow way
    return found if found.startswith(os.sep) and not found.endswith(" (deleted)") else None


def _read_all(fd: int, size: int) -> bytes:
    """A regular file's bytes: one system call when it has not grown since its ``stat`` (a short read is its end)."""
    chunks, wanted = [], size + 1
    while True:
        chunk = os.read(fd, wanted)
        chunks.append(chunk)
        if len(chunk) < wanted:
            return b"".join(chunks)
        wanted = 1 << 20


def _writes(access: int, flags: int, absolute: str) -> bool:
    """Whether an open writes the file before anything reads it: write-only, truncating, or creating it.

    ``r+`` on a file that exists reads it first: an input (one the run then changes is flagged as changed).
    """
    if access == os.O_WRONLY or flags & os.O_TRUNC:
        return True
    return access == os.O_RDWR and bool(flags & os.O_CREAT) and not os.path.exists(absolute)


def start() -> Capture | None:
    """Start recording inputs in this kernel, when ``kit run`` started it and capture is not turned off."""
    global _capture
    run_dir = os.environ.get(settings.RUN_DIR_ENV)
    if _capture is not None or not run_dir:
        return _capture
    layout = RunLayout(Path(run_dir))
    _capture = Capture(layout.inputs_log, excluded_paths(layout.root))
    if settings.capture_inputs():
        sys.addaudithook(_capture.hook)  # for good: Python has no way to remove an audit hook
    return _capture


@contextmanager
def unobserved() -> Iterator[None]:
    """What kit itself reads in the kernel meanwhile is not an input of the notebook (the lineage hashes it)."""
    capture = _capture
    if capture is None:
        yield
        return
    before = getattr(capture._local, "busy", False)
    capture._local.busy = True
    try:
        yield
    finally:
        capture._local.busy = before


def load_ipython_extension(ipython) -> None:
    """How ``kit run`` starts the capture in its kernel (``--IPKernelApp.extra_extensions``), before the first cell."""
    start()


def input_path(path: str | os.PathLike) -> str | os.PathLike:
    """Record ``path`` (a file, or every file in a folder) as an input of the run; return it unchanged.

    For files read where Python does not see it, such as TensorFlow's C++ readers:
    ``tf.data.TextLineDataset(kit.input_path("data/train.csv"))``. Outside ``kit run`` it only checks the path.
    """
    try:
        target = os.fspath(path)
        found = os.path.exists(target)
    except (TypeError, ValueError) as error:
        raise InputError(path, f"is not a path ({error})") from None
    if not found:
        raise InputError(path, "no such file or folder: check the path, or use kit.log_input for a URL or a table")
    capture = start()
    if capture is None:
        return path
    if os.path.isdir(target):
        for count, file in enumerate(_files_in(target)):
            if count >= MAX_FOLDER_FILES:
                break
            capture.opened(file, os.O_RDONLY, declared=True)
    else:
        capture.opened(target, os.O_RDONLY, declared=True)
    return path


def _files_in(folder: str | bytes):
    for root, directories, files in os.walk(folder):
        directories.sort()
        for name in sorted(files):
            yield os.path.join(root, name)


def log_input(name: str, digest: str) -> None:
    """Record an input kit cannot read itself (a database table, a URL) by a name and a digest you computed.

    E.g. ``kit.log_input("postgres://db/patients", f"rows={count},max_id={last}")``: ``kit runs diff`` shows when
    two runs read different ones; ``kit verify`` cannot check it.
    """
    for what, value in (("name", name), ("digest", digest)):
        if not isinstance(value, str) or not value or len(value) > 1000:
            raise InputError(value, f"is not a {what}: pass a string of 1 to 1000 characters")
    capture = start()
    if capture is not None:
        capture.declare(name, digest)
