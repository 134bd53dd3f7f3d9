"""A sweep for people: its table of points (``kit sweep show``) and its HTML report.

Its progress on stderr is :mod:`kit.sweeping.progress`'s. :func:`summarize` collects each point's row
(parameters, metrics, resources) as plain data once; :func:`table` and :func:`report` render it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.display import page
from kit.display.summary import InputRow, input_row
from kit.display.text import input_line
from kit.display.text import table as text_table
from kit.errors import DamagedRecord, OptionError
from kit.record import Damaged, Run
from kit.record.sweep import PointStatus, Sweep, SweepInfo
from kit.shorten import short

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
    #: The inputs of the point's run that not every point read (those all read are the sweep's ``shared_inputs``).
    inputs: tuple[InputRow, ...] = ()


@dataclass(frozen=True)
class SweepSummary:
    """A sweep's record and its points' rows, read once."""

    info: SweepInfo
    path: Path
    runs_dir: Path
    rows: list[PointRow]
    #: The inputs every point's run read, the same (path and hash), shown once.
    shared_inputs: tuple[InputRow, ...] = ()

    @property
    def metric_names(self) -> list[str]:
        return list(dict.fromkeys(name for row in self.rows for name in row.metrics))


def summarize(found: Sweep) -> SweepSummary:
    """Every point's row; a point's metrics and resources come from its last run (DamagedRecord: shown as such)."""
    rows, inputs = [], {}
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
            try:
                inputs[point.index] = tuple(input_row(entry) for entry in run.inputs)
            except DamagedRecord as error:
                message = message or str(error)
        values = point.parameters
        if isinstance(run, Run):
            try:  # what the run ran with: a parameter a point left out shows its default, not null
                values = {**run.params, **point.parameters}
            except DamagedRecord as error:
                message = message or str(error)
        swept = {name: values.get(name) for name in found.info.swept} or point.parameters
        rows.append(PointRow(point.index, status, run.id if run else (point.runs[-1] if point.runs else ""),
                             swept, metrics, seconds, cpu, peak, message))  # fmt: skip
    return _with_inputs(SweepSummary(found.info, found.path, found.runs_dir, rows), inputs)


def _with_inputs(summary: SweepSummary, inputs: dict[int, tuple[InputRow, ...]]) -> SweepSummary:
    """The inputs every point read alike, once; each point keeps those that are its own."""
    if not inputs:
        return summary
    first, *others = inputs.values()
    shared = tuple(row for row in first if all(row in other for other in others))
    rows = [dataclasses.replace(row, inputs=tuple(i for i in inputs.get(row.index, ()) if i not in shared))
            for row in summary.rows]  # fmt: skip
    return dataclasses.replace(summary, rows=rows, shared_inputs=shared)


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
    if summary.shared_inputs:
        lines += ["", "inputs of every point:", *(input_line(entry) for entry in summary.shared_inputs)]
    for row in summary.rows:
        if row.inputs:
            lines += [f"inputs of point {row.index} only:", *(input_line(entry) for entry in row.inputs)]
    return "\n".join(lines)


# The HTML report

#: The size of a plot and its margins (left, right, top, bottom), in pixels.
PLOT = {"width": 380, "height": 240, "left": 58, "right": 14, "top": 28, "bottom": 42}


@dataclass(frozen=True)
class Plot:
    """A scatter plot of a metric against a parameter, as plain data: positions in pixels, labels as text."""

    title: str
    parameter: str
    dots: list[tuple[float, float]]
    #: Labels along the x axis, at their position in pixels.
    ticks: list[tuple[float, str]]
    y_low: str
    y_high: str


def _plot(metric: str, parameter: str, pairs: list[tuple[Any, float]]) -> Plot:
    """``metric`` against ``parameter``: numbers on a linear (or, over two decades, log) axis, else categories."""
    plot_w = PLOT["width"] - PLOT["left"] - PLOT["right"]
    plot_h = PLOT["height"] - PLOT["top"] - PLOT["bottom"]
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x, _ in pairs)
    logarithmic = False
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

    dots = [(PLOT["left"] + at(x, low, high) * plot_w, PLOT["top"] + (1 - at(y, y_low, y_high)) * plot_h)
            for x, y in zip(xs, ys, strict=True)]  # fmt: skip
    ticks = [(PLOT["left"] + share * plot_w, text) for share, text in labels]
    title = f"{metric} against {parameter}" + (" (log scale)" if logarithmic else "")
    return Plot(title, parameter, dots, ticks, short(y_low, 9), short(y_high, 9))


def _plots(summary: SweepSummary) -> list[Plot]:
    plots = []
    for metric in summary.metric_names:
        for parameter in summary.info.swept:
            pairs = [(row.parameters.get(parameter), row.metrics[metric]) for row in summary.rows
                     if row.status == PointStatus.SUCCEEDED.value and metric in row.metrics]  # fmt: skip
            if pairs:
                plots.append(_plot(metric, parameter, pairs))
    return plots


def _cells(summary: SweepSummary, row: PointRow) -> list[str]:
    return [str(row.index), row.status, *(short(row.parameters.get(name), 40) for name in summary.info.swept),
            *(short(row.metrics.get(name, ""), 16) for name in summary.metric_names), _figure(row.seconds),
            _figure(row.cpu_s), _figure(row.peak_mb, 0)]  # fmt: skip


def report(found: Sweep, output: str | os.PathLike | None = None) -> Path:
    """Write the sweep's HTML page (default ``SWEEP/report.html``) and return its path.

    The page has the table of points and a plot of each metric against each swept parameter.
    """
    path = page.check(Path(output) if output else found.layout.report)
    summary = summarize(found)
    rows = [
        {"cells": _cells(summary, row), "title": row.message, "run_id": row.run_id,
         "link": os.path.relpath(summary.runs_dir / row.run_id, path.parent) if row.run_id else ""}
        for row in summary.rows
    ]  # fmt: skip
    head = ["point", "status", *summary.info.swept, *summary.metric_names, "seconds", "cpu s", "peak MB", "run"]
    own = [(row.index, row.inputs) for row in summary.rows if row.inputs]
    html = page.render("sweep.html.j2", info=summary.info, head=head, rows=rows, plots=_plots(summary), size=PLOT,
                       shared_inputs=summary.shared_inputs, own_inputs=own)  # fmt: skip
    return page.write(path, html)
