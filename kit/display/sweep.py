"""A sweep for people: its progress on stderr, its table of points (``kit sweep show``), its HTML report.

:func:`summarize` collects each point's row (parameters, metrics, resources) as plain data once; :func:`table` and
:func:`report` render it.
"""

from __future__ import annotations

import html
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kit.display.text import short
from kit.display.text import table as text_table
from kit.errors import OptionError, ReportError
from kit.record import Damaged, Run
from kit.record.jsonfile import write_text
from kit.sweeping.point import Outcome
from kit.sweeping.record import PointStatus, Sweep, SweepInfo

# Progress


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"


@dataclass(frozen=True)
class Progress:
    """Points done (failed among them) and running, out of ``total``, since ``started`` (time.monotonic)."""

    sweep_id: str
    total: int
    started: float
    done: int = 0
    failed: int = 0
    running: int = 0

    def add(self, outcome: Outcome, running: int) -> Progress:
        if outcome.status is PointStatus.PENDING:  # stopped before it started
            return replace(self, running=running)
        failed = self.failed + (outcome.status is not PointStatus.SUCCEEDED)
        return replace(self, done=self.done + 1, failed=failed, running=running)

    def eta_s(self) -> float | None:
        """Seconds left at the pace so far; None before the first point finishes."""
        if not self.done:
            return None
        return (time.monotonic() - self.started) / self.done * (self.total - self.done)

    def opening(self, info: SweepInfo, runs: Path) -> str:
        where = f"on {info.scheduler}" if info.scheduler else f"{info.workers} at a time"
        threads = info.threads.intra_op
        return (f"sweep {info.sweep_id}: {self.total} points of {info.notebook}, {where}, {threads} "
                f"thread{'s' if threads > 1 else ''} each; runs in {runs}")  # fmt: skip

    def line(self, outcome: Outcome, parameters: dict[str, Any]) -> str:
        took = f" in {outcome.duration_s:.1f} s" if outcome.duration_s is not None else ""
        why = (
            f" ({short(outcome.message, 120)})"
            if outcome.message and outcome.status is not PointStatus.SUCCEEDED
            else ""
        )
        eta = self.eta_s()
        left = f", ETA {_duration(eta)}" if eta is not None and self.done < self.total else ""
        return (f"[{self.done}/{self.total}] point {outcome.index} ({brief(parameters)}) {outcome.status.value}{took}"
                f"{why}; {self.failed} failed, {self.running} running{left}")  # fmt: skip

    def closing(self, info: SweepInfo) -> str:
        counts: dict[str, int] = {}
        for point in info.points:
            counts[point.status.value] = counts.get(point.status.value, 0) + 1
        said = ", ".join(f"{count} {status}" for status, count in counts.items())
        return f"sweep {info.sweep_id} {info.status.value}: {said}, in {_duration(time.monotonic() - self.started)}"


def brief(parameters: dict[str, Any], width: int = 60) -> str:
    return short(" ".join(f"{name}={short(value, 24)}" for name, value in parameters.items()), width) or "defaults"


# The table of points


@dataclass(frozen=True)
class PointRow:
    """One point as shown: its status and run, swept parameters, metrics, duration and resources."""

    index: int
    status: str
    run_id: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    seconds: float | None
    cpu_s: float | None
    peak_mb: float | None
    message: str


@dataclass(frozen=True)
class SweepSummary:
    """A sweep's record and its points' rows, read once."""

    info: SweepInfo
    path: Path
    runs_dir: Path
    rows: list[PointRow]

    @property
    def metric_names(self) -> list[str]:
        return list(dict.fromkeys(name for row in self.rows for name in row.metrics))


def summarize(found: Sweep) -> SweepSummary:
    """Every point's row; a point's metrics and resources come from its last run (DamagedRecord: shown as such)."""
    rows = []
    for point in found.info.points:
        run = found.run_of(point)
        status = found.status_of(point, run).value
        metrics, seconds, cpu, peak, message = {}, None, None, None, point.message or ""
        if isinstance(run, Damaged):
            status, message = "damaged", str(run.error)
        elif isinstance(run, Run):
            try:
                metrics = run.metrics
            except Exception as error:  # DamagedRecord: the row says so, the others still show
                message = str(error)
            seconds = run.info.duration_s
            if run.info.resources:
                cpu, peak = run.info.resources.cpu_s, run.info.resources.peak_mb
            if run.info.failure and not message:
                message = run.info.failure.describe()
        swept = {name: point.parameters.get(name) for name in found.info.swept} or point.parameters
        rows.append(PointRow(point.index, status, run.id if run else (point.runs[-1] if point.runs else ""),
                             swept, metrics, seconds, cpu, peak, message))  # fmt: skip
    return SweepSummary(found.info, found.path, found.runs_dir, rows)


def sort_rows(summary: SweepSummary, sort: str | None) -> list[PointRow]:
    """Rows by ``sort``: a metric or a swept parameter, ``-name`` for largest first; points without it last."""
    if not sort:
        return summary.rows
    name, descending = sort.removeprefix("-"), sort.startswith("-")
    known = [*summary.metric_names, *summary.info.swept]
    if name not in known:
        example = known[0] if known else "accuracy"
        names = ", ".join(known) or "none"
        raise OptionError(
            "sort", f"--sort takes a metric or swept parameter of this sweep ({names}), not {name!r}: e.g. -{example}"
        )

    def value(row: PointRow) -> Any:
        return row.metrics[name] if name in row.metrics else row.parameters.get(name)

    present = [row for row in summary.rows if value(row) is not None]
    absent = [row for row in summary.rows if value(row) is None]
    numbers = all(isinstance(value(row), int | float) and not isinstance(value(row), bool) for row in present)
    present.sort(key=(lambda row: value(row)) if numbers else (lambda row: short(value(row))), reverse=descending)
    return present + absent


def _figure(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def table(summary: SweepSummary, sort: str | None = None) -> str:
    """The points as a table: point, status, run, swept parameters, metrics, seconds, CPU seconds, peak MB."""
    swept, metrics = list(summary.info.swept), summary.metric_names
    header = ("point", "status", *swept, *metrics, "seconds", "cpu_s", "peak_mb", "run")
    rows = [header]
    for row in sort_rows(summary, sort):
        rows.append((str(row.index), row.status, *(short(row.parameters.get(name), 24) for name in swept),
                     *(short(row.metrics.get(name, ""), 12) for name in metrics), _figure(row.seconds),
                     _figure(row.cpu_s), _figure(row.peak_mb, 0), row.run_id))  # fmt: skip
    info = summary.info
    counts = ", ".join(f"{sum(row.status == status for row in summary.rows)} {status}"
                       for status in dict.fromkeys(row.status for row in summary.rows))  # fmt: skip
    lines = [f"sweep {info.sweep_id}  ({summary.path})",
             f"notebook {info.notebook}; {info.status.value}: {counts}",
             f"started {info.started}, ended {info.ended or '-'}; threads {info.threads.intra_op} per run "
             f"({info.threads.source}); runs in {summary.runs_dir}", "", text_table(rows)]  # fmt: skip
    failed = [row for row in summary.rows if row.message and row.status != PointStatus.SUCCEEDED.value]
    lines += [f"point {row.index}: {short(row.message, 160)}" for row in failed]
    return "\n".join(lines)


# The HTML report


def _svg_plot(metric: str, parameter: str, pairs: list[tuple[Any, float]]) -> str:
    """A small scatter plot of ``metric`` against ``parameter`` as inline SVG (no plotting library needed)."""
    width, height, left, right, top, bottom = 380, 240, 58, 14, 28, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x, _ in pairs)
    if numeric:
        xs = [float(x) for x, _ in pairs]
        logarithmic = min(xs) > 0 and max(xs) / min(xs) >= 100
        xs = [math.log10(x) for x in xs] if logarithmic else xs
        low, high = min(xs), max(xs)
        labels = [(0.0, short(min(x for x, _ in pairs), 10)), (1.0, short(max(x for x, _ in pairs), 10))]
    else:
        categories = list(dict.fromkeys(short(x, 14) for x, _ in pairs))
        xs = [float(categories.index(short(x, 14))) for x, _ in pairs]
        low, high = -0.5, len(categories) - 0.5
        labels = [((index + 0.5) / len(categories), name) for index, name in enumerate(categories[:12])]
    ys = [y for _, y in pairs]
    y_low, y_high = min(ys), max(ys)

    def at(value: float, start: float, end: float) -> float:
        return 0.5 if end == start else (value - start) / (end - start)

    dots = "".join(
        f'<circle cx="{left + at(x, low, high) * plot_w:.1f}" cy="{top + (1 - at(y, y_low, y_high)) * plot_h:.1f}" '
        f'r="4" fill="#1f77b4" fill-opacity="0.75"/>'
        for x, y in zip(xs, ys, strict=True)
    )
    ticks = "".join(
        f'<text x="{left + share * plot_w:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
        f"{html.escape(text)}</text>"
        for share, text in labels
    )
    title = html.escape(f"{metric} against {parameter}" + (" (log scale)" if numeric and logarithmic else ""))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="11"><text x="{left}" y="16" font-size="13">{title}</text>'
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>'
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{html.escape(short(y_high, 9))}</text>'
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">{html.escape(short(y_low, 9))}</text>'
        f'{ticks}<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">{html.escape(parameter)}</text>'
        f"{dots}</svg>"
    )


def _plots(summary: SweepSummary) -> list[str]:
    plots = []
    for metric in summary.metric_names:
        for parameter in summary.info.swept:
            pairs = [(row.parameters.get(parameter), row.metrics[metric]) for row in summary.rows
                     if row.status == PointStatus.SUCCEEDED.value and metric in row.metrics]  # fmt: skip
            if pairs:
                plots.append(_svg_plot(metric, parameter, pairs))
    return plots


def _html_table(summary: SweepSummary, output: Path) -> str:
    swept, metrics = list(summary.info.swept), summary.metric_names
    head = ["point", "status", *swept, *metrics, "seconds", "cpu s", "peak MB", "run"]
    lines = ["<table>", "<tr>" + "".join(f"<th>{html.escape(name)}</th>" for name in head) + "</tr>"]
    for row in summary.rows:
        link = os.path.relpath(summary.runs_dir / row.run_id, output.parent) if row.run_id else ""
        cells = [str(row.index), row.status, *(short(row.parameters.get(name), 40) for name in swept),
                 *(short(row.metrics.get(name, ""), 16) for name in metrics), _figure(row.seconds),
                 _figure(row.cpu_s), _figure(row.peak_mb, 0)]  # fmt: skip
        run = f'<a href="{html.escape(link)}/">{html.escape(row.run_id)}</a>' if link else ""
        title = f' title="{html.escape(row.message)}"' if row.message else ""
        lines.append(
            f"<tr{title}>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + f"<td>{run}</td></tr>"
        )
    return "\n".join([*lines, "</table>"])


def report(found: Sweep, output: str | os.PathLike | None = None) -> Path:
    """Write the sweep's HTML page (default ``SWEEP/report.html``) and return its path.

    The page has the table of points and a plot of each metric against each swept parameter.
    """
    path = Path(output) if output else found.layout.report
    if path.is_dir() or not path.parent.is_dir():
        raise ReportError(path, "it is a directory" if path.is_dir() else f"no folder {path.parent}")
    summary = summarize(found)
    info = summary.info
    page = "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Sweep {html.escape(info.sweep_id)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}svg{margin:8px}</style></head><body>",
        f"<h1>Sweep <code>{html.escape(info.sweep_id)}</code></h1>",
        f"<p><b>{info.status.value}</b> · <code>{html.escape(info.notebook)}</code> · {len(info.points)} points · "
        f"started {info.started} · ended {info.ended or '-'} · {info.threads.intra_op} threads per run</p>",
        _html_table(summary, path), "<h2>Metrics against parameters</h2>",
        "".join(_plots(summary)) or "<p>No succeeded point logged a metric.</p>", "</body></html>",
    ])  # fmt: skip
    try:
        write_text(path, page)
    except OSError as error:
        raise ReportError(path, error.strerror or type(error).__name__) from None
    return path
