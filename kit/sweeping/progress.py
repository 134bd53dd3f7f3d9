"""A sweep's progress on stderr: a line when it starts, one per finished point, and one when it ends.

Each point's line says how many failed and are running, and the time left at the pace so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kit.record.sweep import PointStatus, SweepInfo
from kit.shorten import brief, short
from kit.sweeping.point import Outcome


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
        if info.dask_mode == "ship":
            where += ", each point shipped to its worker and its record back"
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
        point = f"point {outcome.index} ({brief(parameters, 60)})"
        return (f"[{self.done}/{self.total}] {point} {outcome.status.value}{took}{why}; {self.failed} failed, "
                f"{self.running} running{left}")  # fmt: skip

    def closing(self, info: SweepInfo) -> str:
        counts: dict[str, int] = {}
        for point in info.points:
            counts[point.status.value] = counts.get(point.status.value, 0) + 1
        said = ", ".join(f"{count} {status}" for status, count in counts.items())
        return f"sweep {info.sweep_id} {info.status.value}: {said}, in {_duration(time.monotonic() - self.started)}"
