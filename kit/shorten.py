"""Values shortened for people: the one place that decides how much of a value a message or a table shows.

A user's value can be anything, a YAML "billion laughs" or an integer of thousands of digits: these never echo it
whole, and never fail on it. :func:`shown` quotes a value in an error message, :func:`shown_path` a path,
:func:`short` shows a value in a table cell, :func:`brief` a point's parameters on one line.
"""

from __future__ import annotations

import json
import reprlib
from pathlib import Path
from typing import Any

#: The longest piece of a user's value an error message quotes.
SHOWN = 60

#: A few items of a value, a few levels deep: quoting a huge value costs nothing.
_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxdict, _BRIEF.maxstring, _BRIEF.maxlong, _BRIEF.maxother = 2, 3, 3, 24, 24, 24


def cut(text: str, limit: int) -> str:
    """``text`` if it fits ``limit`` characters, else its start and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: Any, limit: int = SHOWN) -> str:
    """``repr(value)``, cut to ``limit`` characters with its full length said: never echo a huge value."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an integer of thousands of digits, a structure nested too deep
        return f"<a {type(value).__name__} too large to show>"
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"


def shown_path(path: str | Path, limit: int = 100) -> str:
    """A path for a message: whole when short, else its start and end around an ellipsis."""
    text = str(path)
    return text if len(text) <= limit else f"{text[: limit // 2 - 1]}…{text[-(limit // 2) :]}"


def short(value: Any, width: int = 200) -> str:
    """A value as one short line for a table: floats to 6 significant digits, the rest as JSON, cut to ``width``."""
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value)
        except (ValueError, TypeError, RecursionError):
            text = _BRIEF.repr(value)
    text = " ".join(text.split()) if "\n" in text else text
    return cut(text, width)


def brief(parameters: dict[str, Any], width: int = 80) -> str:
    """A point's parameters on one line, ``seed=7, model='forest'``, short whatever the values."""
    text = ", ".join(f"{name}={_BRIEF.repr(value)}" for name, value in parameters.items())
    return shown_path(text, width) if text else "the defaults"
