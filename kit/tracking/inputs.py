"""Recording the files a notebook reads, from inside its kernel: an audit hook ``kit run`` installs at start.

Python raises the audit event ``open`` for every file opened through it (``open()``, ``pandas.read_csv``,
``numpy.load``, ``io.open_code``, ``os.open``), before the file is opened. The hook looks at each file the first
time it is opened for reading (one ``stat``; a FIFO or a device is never opened), notes it in the record's journal
and hashes it: a small file at once, a large one in a background thread while the notebook goes on.
:func:`kit.record.inputs.fold` turns the journal into ``inputs.json`` when the run ends, hashing what the thread
had no time for.

Left out: what the image pins (the interpreter's prefixes, site-packages, ``/usr``, ``/etc``), ``/proc``, ``/sys``,
``/dev``, tools' own caches and settings in the home directory, compiled ``.pyc`` files, the run's own record, kit's
own files, and the paths in ``$KIT_INPUTS_EXCLUDE``. Reads Python does not see (TensorFlow's C++ readers, a
database, a URL) are declared with :func:`input_path` and :func:`log_input`.

The hook never fails or blocks the notebook's own ``open``: whatever goes wrong in it is swallowed, and a file it
cannot look at is recorded with the reason.
"""

from __future__ import annotations

import os
import queue
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
#: Files up to this size are hashed as they are opened (the time of a few system calls); larger ones by the thread.
INLINE_BYTES = 1 << 20
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
    """The files one kernel reads, noted in the run's journal and hashed by one background thread."""

    def __init__(self, journal: Path, excluded: tuple[str, ...]) -> None:
        self._fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.excluded = excluded
        self.seen: set[str] = set()
        self.written: set[str] = set()
        self._queue: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._local = threading.local()
        self._worker = threading.Thread(target=self._hash_all, name="kit-inputs", daemon=True)
        self._worker.start()

    def excludes(self, absolute: str) -> bool:
        """Whether an absolute path is left out: it is, or is in, one of the excluded paths."""
        return (absolute + os.sep).startswith(self.excluded)

    # the hook: fast, and never raises

    def hook(self, event: str, args: tuple) -> None:
        if event != "open" or threading.current_thread() is self._worker or getattr(self._local, "busy", False):
            return
        self._local.busy = True  # what the hook itself does (realpath, stat) must not come back into it
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
        if not declared and (self.excludes(absolute) or absolute.endswith(".pyc")):
            return
        access = flags & os.O_ACCMODE
        if absolute not in self.seen and absolute not in self.written and _writes(access, flags, absolute):
            self.written.add(absolute)  # created or rewritten by the run before it read it: not an input
            self._note({"wrote": 1, "abs": os.path.realpath(absolute)})
        if access == os.O_WRONLY or absolute in self.seen:
            return
        self.seen.add(absolute)
        resolved = os.path.realpath(absolute)
        if resolved != absolute:
            if not declared and self.excludes(resolved):
                return
            if resolved in self.seen:
                return
            self.seen.add(resolved)
        try:
            st = os.stat(resolved)
        except OSError:
            self.seen.discard(absolute)  # not there: the open fails, nothing was read
            return
        kind = record.type_of(st.st_mode)
        if kind == "directory":
            return  # a folder opened to list it (os.walk, shutil): its files are what is read
        event = {"read": given, "abs": resolved, "stat": record.identity_of(st), "type": kind}
        if declared:
            event["declared"] = 1
        if kind == "file" and st.st_size <= INLINE_BYTES:
            event.update(self._hashed(resolved))  # now: what the notebook is about to read, even if it deletes it next
        self._note(event)
        if kind == "file" and st.st_size > INLINE_BYTES:
            self._queue.put((resolved, given))

    def _note(self, event: dict) -> None:
        try:
            os.write(self._fd, record.journal_line(event))
        except OSError:  # the record's disk is full: the end of the run says so
            pass

    # the background thread

    def _hash_all(self) -> None:
        while (item := self._queue.get()) is not None:
            self._hash(item[0])

    def _hash(self, resolved: str) -> None:
        self._note({"abs": resolved, **self._hashed(resolved)})

    @staticmethod
    def _hashed(resolved: str) -> dict:
        """A journal event's account of hashing a file: its sha256 and identity then, or why it was not hashed."""
        try:
            sha, identity = record.hash_file(resolved)
        except OSError as error:
            return {"unhashed": f"cannot be read ({error.strerror or 'not a regular file'}): not hashed"}
        return {"hashed": 1, "resolved": resolved, "sha256": sha, "hashed_stat": identity}

    def declare(self, name: str, digest: str) -> None:
        self._note({"declared": 1, "name": name, "digest": digest})


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
