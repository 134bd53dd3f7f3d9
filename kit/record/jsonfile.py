"""JSON files of a record: written atomically, read with bounds.

A writer serializes first and only then touches the disk, and replaces the file in one rename: a reader sees
the old file or the new one, never half of one, and a value that cannot be written (NaN, an integer of thousands
of digits) leaves nothing behind. A reader refuses files too large or nested too deep to be a record's.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

#: A record's JSON files are small; anything larger is not one of ours.
MAX_BYTES = 256 << 20


def dumps(data: Any) -> str:
    """Standard JSON (no NaN or Infinity), indented; ValueError when ``data`` cannot be written as such."""
    try:
        return json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    except RecursionError:
        raise ValueError("nested too deeply to write as JSON") from None
    except TypeError as error:
        raise ValueError(str(error)) from None


def write_text(path: Path, text: str) -> None:
    """Write ``text`` so that readers see the old file or the new one; no temporary file survives a failure."""
    data = text.encode("utf-8")  # before anything is created: a string that cannot be encoded fails here
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    write_text(path, dumps(data))


def read_json(path: Path) -> Any:
    """The JSON value in ``path``; OSError when it cannot be read, ValueError (saying why) when it is not JSON."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"is {size >> 20} MB, larger than any record file")
    with open(path, "rb") as file:
        data = file.read(MAX_BYTES + 1)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"is not JSON (line {error.lineno})") from None
    except ValueError:  # json turns digits into int(), which refuses thousands of them
        raise ValueError("holds a number too large to read") from None
    except RecursionError:
        raise ValueError("is nested too deeply") from None
