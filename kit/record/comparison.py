"""Differences between two runs, section by section, as plain data (``kit runs diff`` and ``kit verify``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kit.record.divergence import Divergence, locate
from kit.record.run import Run
from kit.record.schema import same_number

#: Sections of a comparison, in the order they are shown.
SECTIONS = ("params", "inputs", "metrics", "artifacts", "environment")
#: Reproduced means: the same metrics and the same artifact contents.
OUTCOMES = ("metrics", "artifacts")
MISSING = "(absent)"


@dataclass
class Comparison:
    """What differs between run ``a`` and run ``b``: per section, (key, value in a, value in b)."""

    a: Run
    b: Run
    changes: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)

    @property
    def reproduced(self) -> bool:
        return not any(self.changes.get(section) for section in OUTCOMES)

    @cached_property
    def divergence(self) -> Divergence:
        """Where ``b`` parts from ``a``: the first cell whose outputs differ, the recorded factors that differ."""
        return locate(self.a, self.b)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level of dotted keys: ``{"cpu": {"usable": 2}}`` is ``{"cpu.usable": 2}``."""
    if not isinstance(data, dict) or not data:
        return {prefix: data} if prefix else {}
    flat = {}
    for key, value in data.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _changes(a: dict, b: dict) -> list[tuple[str, Any, Any]]:
    keys = list(dict.fromkeys([*a, *b]))
    pairs = ((key, a.get(key, MISSING), b.get(key, MISSING)) for key in keys)
    return [(key, old, new) for key, old, new in pairs if not same_number(old, new)]


def identity(entry: dict) -> str:
    """What must match for an artifact to count as reproduced: its content hash when it has one."""
    return entry.get("content_sha256") or entry["sha256"]


def _artifacts(manifest: dict) -> dict[str, str]:
    return {name: identity(entry) for name, entry in manifest.items()}


def inputs(run: Run) -> dict[str, str | None]:
    """A run's inputs by the path the notebook gave (a declared one by its name): their sha256 or digest."""
    return {entry.path: entry.identity for entry in run.inputs}


def compare(a: Run, b: Run, *, environment: bool = True) -> Comparison:
    """Compare parameters, inputs, metrics, artifact contents and (unless told not to) environments."""
    changes = {
        "params": _changes(flatten(a.params), flatten(b.params)),
        "inputs": _changes(inputs(a), inputs(b)),
        "metrics": _changes(a.metrics, b.metrics),
        "artifacts": _changes(_artifacts(a.manifest), _artifacts(b.manifest)),
    }
    if environment:
        changes["environment"] = _changes(flatten(a.environment), flatten(b.environment))
    return Comparison(a, b, changes)
