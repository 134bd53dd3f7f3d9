"""Where two runs part: the first cell whose outputs differ, and the recorded factors that differ between them.

``kit verify`` and ``kit runs diff`` say it in one line, e.g. ``first difference at cell 7 (In [7]):
'loss 0.1101596' → 'loss 0.1101570'; differs: threads 2 → 1``.

Two executed notebooks are compared cell by cell, on what a cell showed, never on what changes with every
execution: execution counts, papermill's timings and other metadata, how a stream happened to be split into
pieces, progress bars redrawn with carriage returns, durations ("2s 15ms/step"), time stamps and memory
addresses in text, and the HTML rendering of an object that also has a plain-text one. A cell's standard error
(library warnings, log lines) counts only when no cell's other outputs differ.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from kit.record.run import Run
from kit.shorten import SHOWN, shown, shown_path

#: Text that changes with every execution, and what it becomes before comparing.
VOLATILE = (
    (re.compile(r"\x1b\[[0-9;?]*[A-Za-z]"), ""),  # terminal colours
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(r"(?m)^[IWEF]\d{4} [\d:.]+\s+\d+ "), "<log> "),  # abseil's log prefix (TensorFlow)
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|sec|min)(?:/(?:step|sample|epoch))?\b"), "<duration>"),
    (re.compile(r"\bETA:?\s*\S+"), "ETA <duration>"),
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "0x…"),  # memory addresses in reprs
)
#: A display's renderings that are compared when present (the first found), in order of preference.
RENDERINGS = ("text/plain", "image/png", "image/jpeg", "image/svg+xml", "text/markdown", "application/json",
              "text/latex", "text/html")  # fmt: skip


@dataclass(frozen=True)
class CellDifference:
    """The first cell whose outputs differ: its index (counted from 0, as papermill does), ``In [n]``, excerpts."""

    index: int
    execution_count: int | None
    a: str
    b: str
    #: The cell's code differs too (runs of different notebooks).
    code_differs: bool = False


@dataclass(frozen=True)
class Factor:
    """A recorded factor of a run's result that differs between two runs: its name and both values, for people."""

    name: str
    a: str
    b: str


@dataclass(frozen=True)
class Divergence:
    """Where two runs part (None: every cell showed the same) and what differed in how they ran."""

    cell: CellDifference | None
    factors: tuple[Factor, ...]


def _clean(text: str, run_id: str = "") -> str:
    if "\x08" in text:  # a progress bar redrawn with backspaces: what is left on screen
        kept: list[str] = []
        for char in text:
            if char != "\x08":
                kept.append(char)
            elif kept and kept[-1] != "\n":
                kept.pop()
        text = "".join(kept)
    # A line redrawn with carriage returns: its last drawing.
    text = "\n".join(([piece for piece in line.split("\r") if piece] or [""])[-1] for line in text.split("\n"))
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    if run_id:  # the run's own directory (a saved model's path, say): each run has its own
        text = re.sub(re.escape(run_id) + r"(?:\+[\w-]*)?", "<run>", text)
    return text


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _rendering(data: dict) -> tuple[str, str]:
    for mime in RENDERINGS:
        if mime in data:
            return mime, _text(data[mime])
    mime = sorted(data)[0] if data else "empty"
    return mime, _text(data.get(mime, ""))


def outputs(cell: dict, run_id: str = "") -> tuple[list[str], str]:
    """What a code cell of run ``run_id`` showed, as lines of text (standard error apart), volatile parts normalised."""
    shown_lines: list[str] = []
    streams = {"stdout": "", "stderr": ""}
    for output in cell.get("outputs") or []:
        kind = output.get("output_type")
        if kind == "stream":
            name = output.get("name") if output.get("name") in streams else "stdout"
            streams[name] += _text(output.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            mime, text = _rendering(output.get("data") or {})
            if mime.startswith("image/") and mime != "image/svg+xml":
                digest = hashlib.sha256(text.encode()).hexdigest()[:12]
                shown_lines.append(f"<{mime} of {len(text)} characters, sha256 {digest}…>")
            else:
                shown_lines += _clean(text, run_id).splitlines()
        elif kind == "error":
            shown_lines.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
    return _clean(streams["stdout"], run_id).splitlines() + shown_lines, _clean(streams["stderr"], run_id)


def _excerpt(line: str, start: int) -> str:
    """``line`` quoted, cut around ``start`` (where it differs) when it is long."""
    if len(line) > SHOWN:
        begin = max(0, start - SHOWN // 3)
        line = ("…" if begin else "") + line[begin : begin + SHOWN - 2]
    return shown(line, SHOWN + 10)


def _first_difference(a: list[str], b: list[str]) -> tuple[str, str]:
    for line_a, line_b in zip(a + ["(nothing more)"] * (len(b) - len(a)), b + ["(nothing more)"] * (len(a) - len(b)),
                              strict=True):  # fmt: skip
        if line_a != line_b:
            start = next((i for i, (x, y) in enumerate(zip(line_a, line_b, strict=False)) if x != y),
                         min(len(line_a), len(line_b)))  # fmt: skip
            return _excerpt(line_a, start), _excerpt(line_b, start)
    return "''", "''"


def first_difference(a: dict, b: dict, run_ids: tuple[str, str] = ("", "")) -> CellDifference | None:
    """The first cell of notebook ``b`` whose outputs differ from ``a``'s (nbformat nodes or plain dicts).

    ``run_ids``: the runs that executed them, whose ids (in paths of their record) are no difference.
    """
    cells_a, cells_b = a.get("cells") or [], b.get("cells") or []
    found = None
    for stderr_only in (False, True):
        for index, (cell_a, cell_b) in enumerate(zip(cells_a, cells_b, strict=False)):
            if cell_a.get("cell_type") != "code" or cell_b.get("cell_type") != "code":
                continue
            (lines_a, errors_a), (lines_b, errors_b) = outputs(cell_a, run_ids[0]), outputs(cell_b, run_ids[1])
            if stderr_only:
                lines_a, lines_b = errors_a.splitlines(), errors_b.splitlines()
            if lines_a != lines_b:
                excerpt_a, excerpt_b = _first_difference(lines_a, lines_b)
                code_differs = _text(cell_a.get("source", "")) != _text(cell_b.get("source", ""))
                found = CellDifference(index, cell_a.get("execution_count"), excerpt_a, excerpt_b, code_differs)
                return found
    if len(cells_a) != len(cells_b):
        index = min(len(cells_a), len(cells_b))
        longer = cells_a if len(cells_a) > len(cells_b) else cells_b
        excerpt = shown(_text(longer[index].get("source", "")).split("\n", 1)[0])
        a_side, b_side = (excerpt, "(no such cell)") if longer is cells_a else ("(no such cell)", excerpt)
        return CellDifference(index, longer[index].get("execution_count"), a_side, b_side, True)
    return None


# The recorded factors


def _short_hash(value: Any) -> str:
    return f"{value[:12]}…" if isinstance(value, str) and len(value) > 16 else str(value)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _threads(run: Run) -> str:
    threads = run.info.invocation.threads
    return str(threads.intra_op) if threads.intra_op == threads.inter_op else f"{threads.intra_op}/{threads.inter_op}"


def _packages(a: dict, b: dict, limit: int = 3) -> Factor | None:
    changed = [(name, a.get(name, "(absent)"), b.get(name, "(absent)")) for name in sorted({*a, *b})
               if a.get(name) != b.get(name)]  # fmt: skip
    if not changed:
        return None
    more = f" and {len(changed) - limit} more" if len(changed) > limit else ""
    return Factor("packages", ", ".join(f"{name} {old}" for name, old, _ in changed[:limit]) + more,
                  ", ".join(f"{name} {new}" for name, _, new in changed[:limit]) + more)  # fmt: skip


def inputs_factor(a: Run, b: Run, limit: int = 2) -> Factor | None:
    """The recorded inputs whose sha256 (or declared digest) differ, by the path the notebook gave."""
    found_a = {entry.path: entry.identity for entry in a.inputs}
    found_b = {entry.path: entry.identity for entry in b.inputs}
    changed = [path for path in dict.fromkeys([*found_a, *found_b]) if found_a.get(path) != found_b.get(path)]
    if not changed:
        return None
    more = f" and {len(changed) - limit} more" if len(changed) > limit else ""

    def side(found: dict) -> str:
        return ", ".join(f"{shown_path(path, 40)} {_short_hash(found.get(path) or '(absent)')}" for path in
                         changed[:limit]) + more  # fmt: skip

    return Factor("inputs", side(found_a), side(found_b))


def factors(a: Run, b: Run) -> tuple[Factor, ...]:
    """What the two records say differed in how the runs ran: threads, CPUs, packages, inputs, hash seed..."""
    env_a, env_b = a.environment, b.environment
    pairs = (
        ("threads", _threads(a), _threads(b)),
        ("hash seed", a.info.invocation.hash_seed, b.info.invocation.hash_seed),
        ("CPUs", _get(env_a, "cpu", "usable"), _get(env_b, "cpu", "usable")),
        ("machine", _get(env_a, "platform", "machine"), _get(env_b, "platform", "machine")),
        ("Python", _get(env_a, "python", "version"), _get(env_b, "python", "version")),
        ("image lock", _short_hash(_get(env_a, "image", "lock_sha256")),
         _short_hash(_get(env_b, "image", "lock_sha256"))),
    )  # fmt: skip
    found = [Factor(name, str(old), str(new)) for name, old, new in pairs if old != new]
    for extra in (_packages(_get(env_a, "packages") or {}, _get(env_b, "packages") or {}), inputs_factor(a, b)):
        if extra is not None:
            found.append(extra)
    return tuple(found)


def locate(a: Run, b: Run) -> Divergence:
    """Where run ``b`` parts from run ``a``: the first cell whose outputs differ, and the factors that differ."""
    return Divergence(first_difference(a.notebook, b.notebook, (a.id, b.id)), factors(a, b))
