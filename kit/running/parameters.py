"""A notebook's parameters and the values given for them: typed, checked, bounded, before anything runs.

papermill injects any value it is given and checks nothing; here a value must fit its parameter's type (the
annotation, ``epochs: int = 10``, ``layers: list[int] = [8]``, ``limit: int | None = None``, else the type of the
default) and be a value papermill passes to the kernel unchanged and JSON records unchanged: ``None``, booleans,
64-bit integers, finite floats, UTF-8 strings, lists and mappings with string keys, within size bounds. So the
value in the kernel is the value in ``params.json``, with its type.
"""

from __future__ import annotations

import ast
import datetime
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.errors import ParametersFileError, ParameterTypeError, ParameterValueError
from kit.shorten import shown

#: Bounds on one value: nesting, items (a YAML "billion laughs" expands past this at once), text, integers.
MAX_DEPTH = 100
MAX_ITEMS = 100_000
MAX_CHARS = 10_000_000
MAX_INT = 2**63 - 1
#: A parameters file larger than this is not one.
MAX_FILE_BYTES = 1 << 20

_SCALARS = {"int": int, "float": float, "bool": bool, "str": str}
_LISTS = ("list", "List", "Sequence", "tuple", "Tuple")
_DICTS = ("dict", "Dict", "Mapping")
_NONE_WORDS = ("none", "null", "~")


@dataclass(frozen=True)
class Kind:
    """A parameter's type: a scalar, or a list or dict whose items have ``item`` type; ``optional`` allows None."""

    name: str  # int, float, bool, str, list, dict
    item: Kind | None = None
    optional: bool = False

    def __str__(self) -> str:
        inner = f"[{self.item}]" if self.item and self.name == "list" else ""
        inner = f"[str, {self.item}]" if self.item and self.name == "dict" else inner
        return self.name + inner + (" | None" if self.optional else "")

    def conform(self, value: Any) -> Any:
        """``value`` as this type (an int for a float becomes a float); TypeError when it does not fit."""
        if value is None and self.optional:
            return None
        if self.name == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if self.name in _SCALARS:
            expected = _SCALARS[self.name]
            if isinstance(value, expected) and not (expected is not bool and isinstance(value, bool)):
                return value
            raise TypeError
        if self.name == "list" and isinstance(value, list):
            return [self.item.conform(item) for item in value] if self.item else value
        if self.name == "dict" and isinstance(value, dict):
            return {key: self.item.conform(item) for key, item in value.items()} if self.item else value
        raise TypeError


def _kind(node: ast.expr) -> Kind | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a quoted annotation: "int"
        try:
            return _kind(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return None
    if isinstance(node, ast.Name) and node.id in _SCALARS:
        return Kind(node.id)
    if isinstance(node, ast.Name) and node.id in (*_LISTS, *_DICTS):
        return Kind("list" if node.id in _LISTS else "dict")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        sides = [node.left, node.right]
        others = [side for side in sides if not (isinstance(side, ast.Constant) and side.value is None)]
        inner = _kind(others[0]) if len(others) == 1 else None
        return Kind(inner.name, inner.item, True) if inner else None
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        outer, argument = node.value.id, node.slice
        arguments = argument.elts if isinstance(argument, ast.Tuple) else [argument]
        if outer == "Optional" and len(arguments) == 1:
            inner = _kind(arguments[0])
            return Kind(inner.name, inner.item, True) if inner else None
        if outer in _LISTS[:3] and len(arguments) == 1:
            return Kind("list", _kind(arguments[0]))
        if outer in _DICTS and len(arguments) == 2:
            return Kind("dict", _kind(arguments[1]))
    return None  # a type kit cannot check: the value is taken as given (still bounded and JSON)


def parse_annotation(annotation: str | None, default: Any) -> Kind | None:
    """The type an annotation names, else that of the default; None when neither tells."""
    if annotation:
        try:
            return _kind(ast.parse(annotation.strip(), mode="eval").body)
        except (SyntaxError, RecursionError, ValueError):
            return None
    for name in ("bool", "int", "float", "str"):
        if type(default) is _SCALARS[name]:
            return Kind(name)
    return {list: Kind("list"), dict: Kind("dict")}.get(type(default))


@dataclass(frozen=True)
class Parameter:
    """One parameter of a notebook: its name, type (None when unknown), default and help.

    ``literal`` says whether the default is a value (``10``) or an expression the kernel evaluates
    (``2 * epochs``), which kit shows as written and never records as a value.
    """

    name: str
    kind: Kind | None
    default: Any
    literal: bool = True
    help: str = ""

    @property
    def type(self) -> str | None:
        return str(self.kind) if self.kind else None

    def example(self) -> str:
        default = self.shown_default() if self.literal and _recordable(self.default) else "VALUE"
        article = "an" if str(self.type)[:1].lower() in "aeiou" else "a"  # an int, a float, a list[int]
        return f"{article} {self.type} (e.g. -p {self.name} {default if len(default) <= 40 else 'VALUE'})"

    def shown_default(self) -> str:
        """The default for a table: JSON for a value, the source text for an expression (or a value JSON lacks)."""
        import json

        if self.literal and _recordable(self.default):
            return json.dumps(self.default)
        return self.default if not self.literal else repr(self.default)

    def to_dict(self) -> dict[str, Any]:
        """For ``kit params --json``: ``default`` is the value, or its source text when ``literal`` is false."""
        recordable = self.literal and _recordable(self.default)
        default = self.default if recordable else (repr(self.default) if self.literal else self.default)
        return {"name": self.name, "type": self.type, "default": default, "literal": recordable, "help": self.help}


class _Budget:
    """What a value may still spend: items and characters (a shared counter, so aliases count every time)."""

    def __init__(self) -> None:
        self.items, self.chars = MAX_ITEMS, MAX_CHARS


def _plain(name: str, value: Any, budget: _Budget, depth: int = 0) -> Any:
    """A copy of ``value`` made of JSON's types (tuples become lists), or ParameterValueError saying why not."""
    budget.items -= 1
    if budget.items < 0:
        raise ParameterValueError(name, f"holds more than {MAX_ITEMS:,} items: pass a path to a data file instead")
    if depth > MAX_DEPTH:
        raise ParameterValueError(name, f"is nested more than {MAX_DEPTH} levels deep: flatten it")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise ParameterValueError(name, "is an integer beyond 64 bits: pass a smaller one, or a string")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParameterValueError(name, f"is {value}: pass a finite number")
        return value
    if isinstance(value, str):
        budget.chars -= len(value)
        if budget.chars < 0:
            raise ParameterValueError(name, f"holds more than {MAX_CHARS:,} characters: pass a path to a file instead")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ParameterValueError(
                name, "is not valid UTF-8 text: pass UTF-8 (check the terminal's encoding)"
            ) from None
        return value
    if isinstance(value, list | tuple):
        return [_plain(name, item, budget, depth + 1) for item in value]
    if isinstance(value, dict):
        keys = [key for key in value if not isinstance(key, str)]
        if keys:
            raise ParameterValueError(
                name, f"has a key {shown(keys[0], 30)} that is not a string: JSON keys are strings, quote it"
            )
        return {
            _plain(name, key, budget, depth + 1): _plain(name, item, budget, depth + 1) for key, item in value.items()
        }
    if isinstance(value, datetime.date):
        raise ParameterValueError(name, f"is a {type(value).__name__} (YAML reads it unquoted): quote it to pass text")
    raise ParameterValueError(
        name, f"is a {type(value).__name__}, which cannot be recorded: pass numbers, text, lists or mappings"
    )


def plain_values(pairs: Iterable[tuple[str, Any]]) -> list[Any]:
    """Each ``(name, value)``'s value made plain (JSON's types), all within one budget of items and characters.

    For values not yet matched to a parameter (a sweep's grid): ParameterValueError names the first that is not.
    """
    budget = _Budget()
    return [_plain(name, value, budget) for name, value in pairs]


def _recordable(value: Any) -> bool:
    try:
        _plain("default", value, _Budget())
    except ParameterValueError:
        return False
    return True


def check(parameter: Parameter, value: Any) -> Any:
    """``value`` made plain and of the parameter's type; ParameterError says what to pass."""
    value = _plain(parameter.name, value, _Budget())
    if parameter.kind is None:
        return value
    try:
        return parameter.kind.conform(value)
    except TypeError:
        raise ParameterTypeError(parameter.name, parameter.type, value, parameter.example()) from None


def from_text(parameter: Parameter | None, text: str) -> Any:
    """A command-line value read as its parameter's type (``-p epochs 5`` is the integer 5); else the text.

    Lists and dicts are read as YAML (or JSON); text that is not valid YAML for them is a ParameterValueError.
    """
    kind = parameter.kind if parameter else None
    if kind is None or kind.name == "str":
        return text
    if kind.optional and text.strip().lower() in _NONE_WORDS:
        return None
    if kind.name == "bool":
        return {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}.get(
            text.strip().lower(), text
        )
    if kind.name in ("int", "float"):
        try:
            return _SCALARS[kind.name](text.strip())
        except (ValueError, OverflowError):
            return text  # not of the type: check() says so, quoting it shortened
    try:
        return load_yaml(text)
    except ValueError as error:
        raise ParameterValueError(parameter.name, f"is not valid YAML ({error}): pass {parameter.example()}") from None


# YAML: the safe loader, refusing duplicate keys (which it would silently resolve as last-wins).


def _loader():
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {shown(key.value, 30)}", key.start_mark
                        )
                    seen.add((key.tag, key.value))
            return super().construct_mapping(node, deep)

    return Loader


def load_yaml(text: str) -> Any:
    """YAML (or JSON) text as a value; ValueError with the line when it is not valid or has a duplicate key."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(error, "problem", None) or getattr(error, "reason", None) or "it cannot be parsed"
        raise ValueError(f"{str(problem)[:100]}{line}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except (ValueError, OverflowError):  # int() of thousands of digits, a date that does not exist
        raise ValueError("a value too large to read, or a date that does not exist") from None


def load_yaml_file(path: str | Path, what: str, fix: str = "write one 'name: value' per line") -> Any:
    """The YAML value of ``path``, a file the user gave (``what``: a parameters file, a grid file).

    It must be UTF-8 of at most 1 MB, each key given once; ParametersFileError (one line) otherwise.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParametersFileError(path, f"is {size:,} bytes, more than {what}", "pass a smaller file")
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParametersFileError(path, "is not UTF-8 text", "save it as UTF-8") from None
    except (OSError, ValueError) as error:
        problem = f"cannot be read ({getattr(error, 'strerror', None) or 'bad name'})"
        raise ParametersFileError(path, problem, "check the -f path") from None
    try:
        return load_yaml(text)
    except ValueError as error:
        if str(error).startswith("duplicate key"):
            raise ParametersFileError(path, f"has a {error}", "give each key once") from None
        raise ParametersFileError(path, f"is not valid YAML: {error}", fix) from None


def read_file(path: str | Path) -> dict[str, Any]:
    """A ``-f`` parameters file: a YAML mapping of parameter names to values (checked later, per parameter)."""
    values = load_yaml_file(path, "a parameters file")
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ParametersFileError(path, "must be a mapping of parameter names to values")
    names = [name for name in values if not isinstance(name, str)]
    if names:
        raise ParametersFileError(path, f"has a key {shown(names[0], 30)} that is not a parameter name")
    return values


def recorded_defaults(parameters: dict[str, Parameter], injected: dict[str, Any]) -> dict[str, Any]:
    """The defaults the kernel will run with and JSON can record as they are (``injected`` values first)."""
    values = {}
    for name, parameter in parameters.items():
        if name in injected and _recordable(injected[name]):
            values[name] = injected[name]
        elif parameter.literal and _recordable(parameter.default):
            values[name] = parameter.default
    return values
