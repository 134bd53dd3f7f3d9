"""A sweep's grid: the values to combine, from the command line or a YAML file, expanded into points.

``-p NAME V1,V2,...`` gives one axis: its text is split at commas outside brackets, braces and quotes, and each
piece is read as the parameter's type, as ``kit run -p`` reads one value. A grid file (``-f``) gives fixed
values, axes (lists or ranges) and explicit points::

    parameters:                          # the same for every point
      task: diagnosis
    grid:                                # every combination of these (the cartesian product)
      seed: {range: [0, 4]}              # 0, 1, 2, 3: Python's range, [start, stop] or [start, stop, step]
      model: [logistic, forest]
      test_size: {linspace: [0.2, 0.3, 3]}       # 0.2, 0.25, 0.3: start, stop (included), count
      learning_rate: {logspace: [-4, -2, 3]}     # 0.0001, 0.001, 0.01: powers of ten
    points:                              # more points, as listed (each over the fixed values)
      - {seed: 42, model: forest}

An axis given with ``-p`` replaces the file's axis (or fixed value) of that name. Values are checked against the
notebook's parameters when the sweep prepares its points, before anything runs.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.errors import GridError
from kit.running.notebook import Notebook
from kit.running.parameters import from_text, load_yaml_file, plain_values
from kit.shorten import shown, shown_path

#: More points than this is a typo (or a job for several sweeps); the sweep record lists every one.
MAX_POINTS = 10_000
#: What a grid file may hold at its top level.
SECTIONS = ("parameters", "grid", "points")
#: How an axis may be given as a range instead of a list.
RANGES = ("range", "linspace", "logspace")
_FILE_FIX = "a grid file has 'parameters:' (fixed values), 'grid:' (lists to combine) and 'points:' (a list)"


@dataclass(frozen=True)
class Grid:
    """Fixed values, axes whose values are combined, and explicit points; :meth:`expand` lists the points."""

    axes: dict[str, list] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    points: list[dict[str, Any]] = field(default_factory=list)

    @property
    def size(self) -> int:
        combined = math.prod(len(values) for values in self.axes.values()) if self.axes else 0
        return combined + len(self.points) or 1

    def names(self) -> list[str]:
        """Every parameter the grid sets, in the order first given."""
        seen = dict.fromkeys([*self.fixed, *self.axes])
        for point in self.points:
            seen.update(dict.fromkeys(point))
        return list(seen)

    def swept(self) -> list[str]:
        """The parameters whose value differs between points: the axes, and any an explicit point changes."""
        names = dict.fromkeys(self.axes)
        for point in self.points:
            names.update(
                dict.fromkeys(name for name in point if name not in self.fixed or point[name] != self.fixed[name])
            )
        return list(names)

    def expand(self) -> list[dict[str, Any]]:
        """The points: every combination of the axes (the last varies fastest), then the explicit ones."""
        if self.size > MAX_POINTS:
            raise GridError(
                f"the grid has {self.size:,} points, more than {MAX_POINTS:,}: split it into several sweeps"
            )
        combined = []
        if self.axes:
            names = list(self.axes)
            combined = [{**self.fixed, **dict(zip(names, values, strict=True))} for values in
                        itertools.product(*self.axes.values())]  # fmt: skip
        elif not self.points:
            combined = [dict(self.fixed)]
        return combined + [{**self.fixed, **point} for point in self.points]

    def merged(self, other: Grid) -> Grid:
        """The grid with ``other``'s fixed values and axes over its own, and ``other``'s points after its own."""
        fixed = {name: value for name, value in self.fixed.items() if name not in other.axes}
        axes = {name: values for name, values in self.axes.items() if name not in other.fixed}
        return Grid({**axes, **other.axes}, {**fixed, **other.fixed}, [*self.points, *other.points])

    def to_dict(self) -> dict[str, Any]:
        return {"parameters": self.fixed, "grid": self.axes, "points": self.points}

    @classmethod
    def from_dict(cls, data: Any, where: str = "the grid") -> Grid:
        """A grid from plain data (a grid file's content, or a sweep record's); GridError says what is wrong."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise GridError(f"{where} must be a mapping: {_FILE_FIX}")
        unknown = [key for key in data if key not in SECTIONS]
        if unknown:
            raise GridError(f"{where} has a key {shown(unknown[0], 30)}: {_FILE_FIX}")
        fixed = _mapping(data.get("parameters"), f"{where}: 'parameters'")
        axes = {
            name: axis(name, values, where) for name, values in _mapping(data.get("grid"), f"{where}: 'grid'").items()
        }
        points = data.get("points") or []
        if not isinstance(points, list):
            raise GridError(f"{where}: 'points' must be a list of mappings, such as '- {{seed: 1}}'")
        points = [_mapping(point, f"{where}: point {index}") for index, point in enumerate(points)]
        if len(points) > MAX_POINTS:
            raise GridError(f"{where}: 'points' lists {len(points):,} points, more than {MAX_POINTS:,}")
        # One budget for the whole grid: YAML aliases cannot make it huge (each point is checked again later).
        plain_values([*fixed.items(), *((name, value) for name, values in axes.items() for value in values),
                      *((name, value) for point in points for name, value in point.items())])  # fmt: skip
        return cls(axes, fixed, points)


def _mapping(data: Any, where: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GridError(f"{where} must be a mapping of parameter names to values, such as '{{seed: 1}}'")
    names = [name for name in data if not isinstance(name, str)]
    if names:
        raise GridError(f"{where} has a key {shown(names[0], 30)} that is not a parameter name")
    return data


def axis(name: str, values: Any, where: str = "the grid") -> list:
    """An axis's values: a non-empty list, or ``{range: [...]}``, ``{linspace: [...]}`` or ``{logspace: [...]}``."""
    if isinstance(values, dict):
        return _range(name, values, where)
    if not isinstance(values, list) or not values:
        raise GridError(
            f"{where}: {name!r} must be a non-empty list of values or a range, such as [0, 1] or {{range: [0, 4]}}"
        )
    if len(values) > MAX_POINTS:
        raise GridError(f"{where}: {name!r} has {len(values):,} values, more than {MAX_POINTS:,}")
    return values


def _range(name: str, spec: dict, where: str) -> list:
    kind, arguments = next(iter(spec.items())) if len(spec) == 1 else (None, None)
    numbers = isinstance(arguments, list) and all(
        isinstance(item, int | float) and not isinstance(item, bool) and math.isfinite(item) for item in arguments
    )
    usage = {
        "range": "{range: [START, STOP]} or {range: [START, STOP, STEP]}, whole numbers",
        "linspace": "{linspace: [START, STOP, COUNT]}",
        "logspace": "{logspace: [START, STOP, COUNT]}, powers of ten",
    }
    if kind not in RANGES or not numbers:
        raise GridError(f"{where}: {name!r} must be a list of values or one of {', '.join(usage.values())}")
    if kind == "range":
        if not 2 <= len(arguments) <= 3 or not all(isinstance(item, int) for item in arguments) or 0 in arguments[2:]:
            raise GridError(f"{where}: {name!r} range must be {usage['range']}, the step not 0")
        values = range(*arguments)
        count = _length(*arguments)
    else:
        start, stop, count = arguments if len(arguments) == 3 else (0, 0, None)
        if not isinstance(count, int) or count < 1:
            raise GridError(f"{where}: {name!r} {kind} must be {usage[kind]}, COUNT a whole number from 1")
    if not 1 <= count <= MAX_POINTS:
        said = f"{count:,}" if count < 10**15 else "more than 10**15"
        raise GridError(f"{where}: {name!r} {kind} gives {said} values: give from 1 to {MAX_POINTS:,}")
    if kind == "range":
        return list(values)
    step = (stop - start) / (count - 1) if count > 1 else 0
    exponents = [start + index * step for index in range(count)]
    try:
        values = [10.0**exponent for exponent in exponents] if kind == "logspace" else exponents
        return [float(f"{value:.12g}") for value in values]  # 0.30000000000000004 is 0.3
    except OverflowError:
        raise GridError(f"{where}: {name!r} logspace goes beyond what a float holds: use smaller powers") from None


def _length(start: int, stop: int, step: int = 1) -> int:
    """``len(range(start, stop, step))``, also beyond what ``len`` can say (2**63 values and more)."""
    span = stop - start if step > 0 else start - stop
    return max(0, -(-span // abs(step)))


def split_values(text: str) -> list[str]:
    """``-p`` text split into values at commas outside brackets, braces and quotes; quotes around a value go.

    ``0,1,2`` is three values, ``[8,4],[16]`` two lists, ``'"a,b"'`` one text with a comma.
    """
    pieces, current, depth, quote = [], [], 0, None
    for character in text:
        if quote:
            quote = None if character == quote else quote
        elif character in "\"'":
            quote = character
        elif character in "[{(":
            depth += 1
        elif character in "]})":
            depth = max(depth - 1, 0)
        elif character == "," and depth == 0:
            pieces.append("".join(current))
            current = []
            continue
        current.append(character)
    pieces.append("".join(current))
    return [_unquoted(piece.strip()) for piece in pieces]


def _unquoted(piece: str) -> str:
    if len(piece) >= 2 and piece[0] == piece[-1] and piece[0] in "\"'":
        return piece[1:-1]
    return piece


def from_options(notebook: Notebook, pairs: list[tuple[str, str]], files: list[str | Path]) -> Grid:
    """The grid of ``kit sweep``: the ``-f`` files merged in order, then one axis per ``-p NAME VALUES``."""
    grid = Grid()
    for path in files:
        grid = grid.merged(read_file(path))
    given: dict[str, list] = {}
    for name, text in pairs:
        if name in given:
            raise GridError(f"parameter {shown(name, 40)} is given twice: list its values once, -p {name} V1,V2")
        parameter = notebook.parameters.get(name)
        given[name] = axis(name, [from_text(parameter, piece) for piece in split_values(text)], f"-p {name}")
    return grid.merged(Grid(axes=given))


def read_file(path: str | Path) -> Grid:
    """A grid file: UTF-8 YAML of at most 1 MB with 'parameters', 'grid' and 'points' (see the module)."""
    data = load_yaml_file(path, "a grid file", _FILE_FIX)
    return Grid.from_dict(data, shown_path(path, 60))
