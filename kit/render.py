"""Plain data as text for the terminal: the run table, one run, a comparison, the environment."""

from __future__ import annotations

import json
from typing import Any

from kit.comparison import SECTIONS, Comparison, flatten
from kit.record import Run

WIDE = 48


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return value if isinstance(value, str) else json.dumps(value)


def _pairs(values: dict, width: int = WIDE) -> str:
    text = " ".join(f"{name}={_value(value)}" for name, value in values.items())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def runs_table(runs: list[Run]) -> str:
    rows = [("id", "notebook", "status", "started", "seconds", "params", "metrics")]
    for run in runs:
        status = run.status
        started = (status.get("started") or "")[:19].replace("T", " ")
        rows.append(
            (
                run.id,
                status.get("notebook", ""),
                status.get("status", ""),
                started,
                f"{status.get('duration_s', 0):.1f}",
                _pairs(run.params),
                _pairs(run.metrics),
            )
        )
    return table(rows)


def show(run: Run) -> str:
    status, env = run.status, run.environment
    lines = [f"run        {run.id}  ({run.path})"]
    lines += [
        f"{key:<10} {_value(status.get(key))}" for key in ("notebook", "status", "started", "ended", "duration_s")
    ]
    if status.get("failure"):
        failure = status["failure"]
        lines.append(f"failure    cell {failure.get('cell_index')}: {failure.get('ename')}: {failure.get('evalue')}")
    threads, seed = env.get("threads", {}), env.get("seed") or {}
    lines.append(
        f"threads    intra-op {threads.get('intra_op')}, inter-op {threads.get('inter_op')} "
        f"({threads.get('source')}); seed {seed.get('seed')}; PYTHONHASHSEED {env.get('hash_seed')}"
    )
    git = env.get("git", {})
    lines.append(f"git        {git.get('commit') or git.get('note')}{' (dirty)' if git.get('dirty') else ''}")
    for title, values in (("params", run.params), ("metrics", run.metrics)):
        lines.append(f"{title}:")
        lines += [f"  {name} = {_value(value)}" for name, value in values.items()] or ["  (none)"]
    lines.append("artifacts:")
    manifest = run.manifest
    lines += [f"  {name}  {entry['size']} bytes  sha256 {entry['sha256'][:16]}" for name, entry in manifest.items()]
    if not manifest:
        lines.append("  (none)")
    return "\n".join(lines)


def comparison(result: Comparison) -> str:
    lines = [f"a: {result.a.id}", f"b: {result.b.id}"]
    for section in SECTIONS:
        if section not in result.changes:
            continue
        changes = result.changes[section]
        lines.append(f"{section}: {'same' if not changes else f'{len(changes)} differ'}")
        lines += [f"  {key}: {_value(a)} -> {_value(b)}" for key, a, b in changes]
    return "\n".join(lines)


def environment(env: dict) -> str:
    flat = flatten({key: value for key, value in env.items() if key != "packages"})
    lines = [f"{key:<24} {_value(value)}" for key, value in flat.items()]
    packages = env.get("packages", {})
    lines.append(f"{'packages':<24} {len(packages)} installed (kit env --json lists them)")
    return "\n".join(lines)
