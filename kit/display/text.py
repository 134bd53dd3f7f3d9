"""Plain data as text for the terminal: the run table, one run, a comparison, the environment."""

from __future__ import annotations

from kit.display.summary import InputRow, RunSummary
from kit.record import Damaged, Run
from kit.record.comparison import SECTIONS, Comparison, flatten
from kit.record.divergence import Divergence
from kit.record.partial import Partial, PartialState
from kit.shorten import short, shown_path

WIDE = 48


def _pairs(values: dict, width: int = WIDE) -> str:
    return short(" ".join(f"{name}={short(item, width)}" for name, item in values.items()), width)


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def resources(info) -> tuple[str, str]:
    """A run's CPU seconds and peak memory in MB, as table cells (empty when not recorded)."""
    used = info.resources
    return (f"{used.cpu_s:.1f}", f"{used.peak_mb:.0f}") if used else ("", "")


def _row(entry: Run | Damaged) -> tuple[str, ...]:
    if isinstance(entry, Damaged):
        return (entry.id, "", "damaged", "", "", "", "", f"{entry.error.file} {entry.error.problem}", "")
    info = entry.info
    seconds = f"{info.duration_s:.1f}" if info.duration_s is not None else ""
    started = info.started[:19].replace("T", " ")
    return (entry.id, short(info.notebook, WIDE), info.status.value, started, seconds, *resources(info),
            _pairs(entry.params), _pairs(entry.metrics))  # fmt: skip


def _partial_row(partial: Partial) -> tuple[str, ...]:
    info = partial.info
    notebook, started = (short(info.notebook, WIDE), info.started[:19].replace("T", " ")) if info else ("", "")
    return (partial.id, notebook, partial.state.value, started, "", "", "", _pairs(partial.params), "")


def runs_table(entries: list[Run | Damaged], partials: list[Partial] = ()) -> str:
    """The finished runs, then those being written (running) and those whose process is gone (abandoned)."""
    rows = [("id", "notebook", "status", "started", "seconds", "cpu_s", "peak_mb", "params", "metrics")]
    lines = table(rows + [_row(entry) for entry in entries] + [_partial_row(partial) for partial in partials])
    if any(partial.state is PartialState.ABANDONED for partial in partials):
        lines += "\nabandoned: their kit process is gone (killed); `kit runs clean` removes them"
    return lines


def show_partial(partial: Partial) -> str:
    """A run that is being written, or was abandoned: what its hidden record says."""
    info = partial.info
    lines = [f"run        {partial.id}  ({partial.path})", f"status     {partial.state.value}"]
    if info:
        lines += [f"notebook   {short(info.notebook)}", f"started    {info.started}"]
    lines.append("params:")
    lines += [f"  {name} = {short(item)}" for name, item in partial.params.items()] or ["  (none)"]
    if partial.state is PartialState.ABANDONED:
        lines.append("its kit process is gone (killed, out of memory, its machine lost): `kit runs clean` removes it")
    else:
        lines.append("its kit process is writing it: the record appears when the run ends")
    return "\n".join(lines)


def show(summary: RunSummary) -> str:
    lines = [f"run        {summary.id}  ({summary.path})"]
    for label, item in (("notebook", summary.notebook), ("status", summary.status), ("started", summary.started),
                        ("ended", summary.ended), ("duration_s", summary.duration_s)):  # fmt: skip
        lines.append(f"{label:<10} {short(item)}")
    if summary.resources:
        used = summary.resources
        lines.append(
            f"resources  {used.cpu_s:.1f} CPU seconds, peak memory {used.peak_mb:.0f} MB (kernel and children)"
        )
    if summary.failure:
        lines.append(f"failure    {summary.failure.describe()}")
    lines += [f"problem    {short(problem)}" for problem in summary.record_problems]
    lines.append(f"threads    {summary.threads}; {summary.seeding}")
    lines.append(f"git        {summary.git}")
    for title, values in (("params", summary.params), ("metrics", summary.metrics)):
        lines.append(f"{title}:")
        lines += [f"  {name} = {short(item)}" for name, item in values.items()] or ["  (none)"]
    lines.append("inputs:")
    lines += [input_line(entry) for entry in summary.inputs] or ["  (none recorded)"]
    lines.append("artifacts:")
    lines += [f"  {a.name}  {a.size} bytes  sha256 {a.sha256[:16]}" for a in summary.artifacts] or ["  (none)"]
    return "\n".join(lines)


def input_line(row: InputRow) -> str:
    """One input as a line: its path, size and hash (a declared value: its digest), and what to know about it."""
    size = f"{row.size} bytes  " if row.size is not None else ""
    shown = (row.hash or "")[:16] if row.hashed_by == "sha256" else short(row.hash, WIDE)
    hashed = f"{row.hashed_by} {shown}" if row.hashed_by else "not hashed"
    return f"  {short(row.path, 80)}  {size}{hashed}" + (f"  ({short(row.note, 80)})" if row.note else "")


def comparison(result: Comparison) -> str:
    lines = [f"a: {result.a.id}", f"b: {result.b.id}"]
    for section in SECTIONS:
        if section not in result.changes:
            continue
        changes = result.changes[section]
        lines.append(f"{section}: {'same' if not changes else f'{len(changes)} differ'}")
        lines += [f"  {key}: {short(a, WIDE)} -> {short(b, WIDE)}" for key, a, b in changes]
    lines.append(f"where: {where(result.divergence)}")
    return "\n".join(lines)


def where(divergence: Divergence) -> str:
    """Where two runs part, in one line.

    ``first difference at cell 7 (In [7]): 'loss 0.1101596' → 'loss 0.1101570'; differs: threads 2 → 1``
    """
    cell = divergence.cell
    if cell is None:
        said = "every cell's outputs are the same"
    else:
        count = f" (In [{cell.execution_count}])" if cell.execution_count else ""
        code = ", whose code differs" if cell.code_differs else ""
        said = f"first difference at cell {cell.index}{count}{code}: {cell.a} → {cell.b}"
    if divergence.factors:
        return f"{said}; differs: " + ", ".join(f"{f.name} {f.a} → {f.b}" for f in divergence.factors)
    return f"{said}; nothing kit records differs (an unseeded random source, the time, or the data read?)"


def _hash(value) -> str:
    return value if isinstance(value, str) and value else "(not recorded)"


def lineage(chain) -> str:
    """What made a model (a :class:`kit.serving.lineage.Chain`): sha256 → run → notebook, parameters, inputs, env."""
    data = chain.lineage or {}
    lines = [f"model        {chain.model_file}  sha256 {chain.model_sha256}"]
    if not chain.lineage:
        lines.append(f"lineage      none recorded beside the model ({short(chain.source)}): kit.save_model keeps one")
        return "\n".join(lines)
    lines.append(f"lineage      sha256 {_hash(chain.lineage_sha256)}")
    run = chain.run
    status = f"  {run.status.value}, started {run.info.started[:19].replace('T', ' ')}" if run else ""
    lines.append(f"run          {data.get('run_id') or '(none: saved outside kit run)'}{status}")
    notebook = data.get("notebook") or {}
    lines.append(
        f"notebook     {shown_path(notebook.get('path') or '(unknown)', 80)}  sha256 {_hash(notebook.get('sha256'))}"
    )
    if run is not None:
        git = run.environment.get("git") or {}
        dirty = " (with uncommitted changes)" if git.get("dirty") else ""
        lines.append(f"git          {git.get('commit') or git.get('note') or '(not recorded)'}{dirty}")
    parameters = data.get("parameters") or {}
    lines.append("parameters" + ("" if parameters else "   (none)"))
    lines += [f"  {name} = {short(item)}" for name, item in parameters.items()]
    inputs = data.get("inputs") or []
    lines.append("inputs" + ("" if inputs else "       (none recorded)"))
    lines += [f"  {short(item.get('path'), 80)}  {item.get('size')} bytes  sha256 {_hash(item.get('sha256'))}"
              for item in inputs if isinstance(item, dict)]  # fmt: skip
    env = data.get("environment") or {}
    lines.append("environment")
    lines.append(f"  image lock sha256 {_hash(env.get('lock_sha256'))}")
    lines.append(f"  Python {env.get('python', '?')}, kit {env.get('kit', '?')}")
    if run is not None:
        packages = run.environment.get("packages") or {}
        lines.append(f"  {len(packages)} packages (kit runs show {run.id} and environment.json list them)")
    return "\n".join(lines)


def environment(env: dict) -> str:
    flat = flatten({key: item for key, item in env.items() if key != "packages"})
    lines = [f"{key:<24} {short(item)}" for key, item in flat.items()]
    packages = env.get("packages", {})
    lines.append(f"{'packages':<24} {len(packages)} installed (kit env --json lists them)")
    return "\n".join(lines)
