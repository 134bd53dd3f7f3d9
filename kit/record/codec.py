"""One codec for the record's typed files: a dataclass to JSON-ready data and back, checked against its annotations.

:func:`encode` writes a dataclass's fields by name, in order: enums as their value, tuples as lists, nested
dataclasses encoded (by their ``to_dict`` where they have one), and the field ``extra`` (fields a newer kit wrote)
merged in last. :func:`decode` reads one back and checks every field against its annotation, so a damaged file is
caught where it is read: a missing field or a value of the wrong type is a ValueError naming it (``has no
'status'``, ``has 'cwd' of the wrong type (int)``), which readers turn into one clear error naming the file. The
rules:

- a bool is never a number, an int is a float (and becomes one);
- a field with a default may be missing or null (the default then); ``X | None`` may be null;
- ``tuple[X, ...]`` is a JSON list of X, ``dict``/``dict[str, X]`` a JSON object (its values unchecked), ``Any``
  anything;
- unknown keys are dropped, or kept in the field ``extra`` where the class has one, so newer records still read.

A dataclass that subclasses :class:`Encodable` has ``to_dict`` and ``from_dict`` that do this. A field that needs
something else says so in its metadata (:func:`field`): ``key`` a JSON name of its own,
``skip`` left out of the file (the reader passes it to :func:`decode`), ``decode`` a function of the field's value
and the whole object.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")
_MISSING = dataclasses.MISSING


def field(*, key: str | None = None, skip: bool = False, decode: Callable[[Any, dict], Any] | None = None, **kwargs):
    """A dataclass field with codec metadata (see the module); other arguments go to :func:`dataclasses.field`."""
    metadata = {"codec_key": key, "codec_skip": skip, "codec_decode": decode}
    return dataclasses.field(metadata=metadata, **kwargs)


def _key(item: dataclasses.Field) -> str:
    return item.metadata.get("codec_key") or item.name


#: Values written as they are (exactly these types: an enum that is also a str is not one), tested first.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _value(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_dict() if hasattr(value, "to_dict") else encode(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _value(item) for key, item in value.items()}
    return value


def encode(value: Any) -> dict[str, Any]:
    """A dataclass as a JSON-ready dict: its fields by name in order, ``extra`` merged in last."""
    data = {key: _value(getattr(value, name)) for name, key in _written(type(value))}
    return {**data, **getattr(value, "extra", {})}


@cache
def _written(cls: type) -> tuple[tuple[str, str], ...]:
    """The fields of ``cls`` a file holds, as (name, JSON key), in order."""
    return tuple(
        (item.name, _key(item))
        for item in dataclasses.fields(cls)
        if item.name != "extra" and not item.metadata.get("codec_skip")
    )


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _describe(kind: Any) -> str:
    return getattr(kind, "__name__", None) or str(kind)


def _check(value: Any, kind: Any, key: str) -> Any:
    """``value`` as ``kind`` says (ValueError naming ``key`` when it is not)."""
    if kind is Any:
        return value
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        problems = []
        for option in (arg for arg in args if arg is not type(None)):
            try:
                return _check(value, option, key)
            except ValueError as error:
                problems.append(error)
        raise problems[0]
    if origin is tuple:
        if not isinstance(value, list):
            raise _wrong(key, value)
        return tuple(_check(item, args[0], key) for item in value)
    if kind is dict or origin is dict:
        if not isinstance(value, dict):
            raise _wrong(key, value)
        return value
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        if not isinstance(value, str) or value not in {member.value for member in kind}:
            raise ValueError(f"has an unknown {key} {str(value)[:40]!r}")
        return kind(value)
    if dataclasses.is_dataclass(kind):
        return decode(kind, value)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong(key, value)
        return float(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise _wrong(key, value)
        return value
    if isinstance(value, bool) or not isinstance(value, kind):
        raise _wrong(key, value)
    return value


def _wrong(key: str, value: Any) -> ValueError:
    return ValueError(f"has {key!r} of the wrong type ({type(value).__name__})")


def decode(cls: type[T], data: Any, **given: Any) -> T:
    """A ``cls`` read from ``data`` (a dict from JSON), every field checked; ``given`` supplies skipped fields.

    ValueError, saying which field, when ``data`` is not a ``cls``.
    """
    if not isinstance(data, dict):
        raise ValueError(f"is not a JSON object where a {cls.__name__.lower()} should be")
    hints, values, known = _hints(cls), dict(given), set()
    fields = dataclasses.fields(cls)
    for item in fields:
        key = _key(item)
        known.add(key)
        if item.name == "extra" or item.name in given or item.metadata.get("codec_skip"):
            continue
        value = data.get(key)
        has_default = item.default is not _MISSING or item.default_factory is not _MISSING
        if value is None and has_default:
            continue  # missing, or null: the default
        if key not in data:
            raise ValueError(f"has no {key!r}")
        custom = item.metadata.get("codec_decode")
        values[item.name] = custom(value, data) if custom else _check(value, hints[item.name], key)
    if any(item.name == "extra" for item in fields):
        values["extra"] = {key: value for key, value in data.items() if key not in known}
    return cls(**values)


class Encodable:
    """A dataclass of the record: ``to_dict`` encodes it, ``from_dict`` decodes and checks one (see the module)."""

    def to_dict(self) -> dict[str, Any]:
        return encode(self)

    @classmethod
    def from_dict(cls, data: Any, **given: Any):
        return decode(cls, data, **given)
