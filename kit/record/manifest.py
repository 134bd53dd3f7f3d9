"""The manifest of a run's artifacts: size and sha256 of every file, plus a content hash for saved models.

Model formats embed things that change on every save although the model does not: a ``.keras`` zip holds the
save time (in ``metadata.json`` and in its zip headers) and memory addresses as ids of shared objects, a
``.skops`` zip names its arrays and objects by memory address.
For these the manifest also records ``content_sha256``, a hash of what the model is, and says what it ignores;
``kit verify`` compares that instead of the raw bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from kit.record import lineage
from kit.record.hashing import sha256  # noqa: F401 - where the rest of kit imports it from


def _digest(members: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(members):
        digest.update(name.encode() + b"\0" + hashlib.sha256(members[name]).digest())
    return digest.hexdigest()


def _renumbered(node, key: str, files: dict[str, str] | None = None, ids: dict | None = None):
    """JSON with the memory addresses under ``key`` renumbered in order of appearance, and files renamed."""
    ids = {} if ids is None else ids
    if isinstance(node, list):
        return [_renumbered(item, key, files, ids) for item in node]
    if not isinstance(node, dict):
        return node
    out = {name: _renumbered(value, key, files, ids) for name, value in node.items()}
    if key in node:
        out[key] = ids.setdefault(node[key], len(ids))
    if files and node.get("file") in files:
        out["file"] = files[node["file"]]
    return out


def _keras(members: dict[str, bytes]) -> dict[str, bytes]:
    """The save time dropped, shared-object ids (memory addresses) renumbered."""
    metadata = json.loads(members.get("metadata.json", b"{}"))
    metadata.pop("date_saved", None)
    config = _renumbered(json.loads(members.get("config.json", b"{}")), "shared_object_id")
    return {
        **members,
        "metadata.json": json.dumps(metadata, sort_keys=True).encode(),
        "config.json": json.dumps(config, sort_keys=True).encode(),
    }


def _skops(members: dict[str, bytes]) -> dict[str, bytes]:
    """Arrays renamed by their content, object ids (memory addresses) renumbered in order of appearance."""
    files = {name: hashlib.sha256(data).hexdigest() for name, data in members.items() if name != "schema.json"}
    schema = _renumbered(json.loads(members["schema.json"]), "__id__", files)
    arrays = {files[name]: data for name, data in members.items() if name != "schema.json"}
    return {**arrays, "schema.json": json.dumps(schema, sort_keys=True).encode()}


#: Formats whose bytes change on every save, how to reduce them to their content, and what that ignores.
NORMALIZERS: dict[str, tuple[Callable[[dict[str, bytes]], dict[str, bytes]], str]] = {
    ".keras": (_keras, "ignores the save time, the zip headers and shared-object ids (memory addresses)"),
    ".skops": (_skops, "ignores the zip headers, array file names and object ids (memory addresses)"),
    ".npz": (lambda members: members, "ignores the zip headers (save times)"),  # NumPy's savez: a reference set
}


#: A model whose members unpack to more than this is not hashed by content (a zip bomb is not a model).
MAX_UNPACKED = 16 << 30


def content_sha256(path: str | Path) -> tuple[str, str] | None:
    """A hash of a saved model's content and what it ignores; None for other files and unreadable models."""
    path = Path(path)
    if lineage.is_lineage(path.name):
        try:
            data = lineage.check(json.loads(path.read_bytes()))
        except (OSError, ValueError, RecursionError):
            return None
        return lineage.content_sha256(data), "hashes the model's content, the parameters and the inputs' contents only"
    normalizer = NORMALIZERS.get(path.suffix)
    if normalizer is None:
        return None
    normalize, note = normalizer
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            if sum(info.file_size for info in infos) > MAX_UNPACKED:
                return None
            members = {info.filename: archive.read(info) for info in infos}
        return _digest(normalize(members)), note
    except (zipfile.BadZipFile, zlib.error, ValueError, KeyError, TypeError, RuntimeError, EOFError, RecursionError):
        return None  # not the model format its name says: hashed by its bytes only


def describe(path: Path) -> dict:
    """One manifest entry; OSError when the file cannot be read."""
    entry = {"size": path.stat().st_size, "sha256": sha256(path)}
    content = content_sha256(path)
    if content:
        entry["content_sha256"], entry["content_note"] = content
    return entry


def manifest(artifacts: Path) -> tuple[dict[str, dict], list[str]]:
    """Every regular file under ``artifacts`` by its POSIX path relative to it, sorted; and what could not be hashed.

    A file the notebook made unreadable, a FIFO or a dangling link is not hashed: it is named in the second list
    (and the run is recorded as failed), never a reason to lose the record.
    """
    entries, problems = {}, []
    for folder, directories, files in os.walk(artifacts, onerror=lambda error: problems.append(_said(error))):
        directories.sort()
        for name in sorted(files) + [d for d in directories if os.path.islink(os.path.join(folder, d))]:
            path = Path(folder, name)
            relative = path.relative_to(artifacts).as_posix()
            if not path.is_file():
                problems.append(f"artifact {relative!r} is not a regular file")
                continue
            try:
                entries[relative] = describe(path)
            except OSError as error:
                problems.append(f"artifact {relative!r} cannot be read ({error.strerror})")
    return dict(sorted(entries.items())), problems


def _said(error: OSError) -> str:
    return f"artifacts folder {Path(error.filename or '?').name!r} cannot be read ({error.strerror})"
