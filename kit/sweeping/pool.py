"""The contract every place a sweep's points run keeps: :class:`Pool`, one backend per module.

:mod:`.local` runs the points on this machine, :mod:`.dask` on a Dask cluster. A backend is made from the sweep's
plan (:class:`kit.sweeping.plan.SweepPlan`) before anything is written, so that a scheduler that does not answer
costs nothing; entering it starts every point; the driver (:mod:`.driver`) then polls it for the outcomes of
finished points, keeps the sweep's record, and stops it on Ctrl-C. A point's outcome is its run's (recorded once,
however often it is tried: :mod:`.point`), or ``pending`` when it was stopped before it started.
"""

from __future__ import annotations

from typing import Protocol

from kit.sweeping.point import Outcome


class Pool(Protocol):
    """Runs a sweep's prepared points somewhere; each backend says only how."""

    def __enter__(self) -> Pool:
        """Start every point (they run in the background)."""
        ...

    def __exit__(self, *exception) -> None:
        """Stop what still runs if an exception left the sweep, and let go of what the pool holds."""
        ...

    @property
    def done(self) -> bool:
        """Whether every point has given its outcome."""
        ...

    @property
    def running(self) -> int:
        """How many points are executing now (for the progress line)."""
        ...

    def poll(self, timeout: float) -> list[Outcome]:
        """The outcomes of points that finished since the last poll, waiting at most ``timeout`` seconds for one."""
        ...

    def stop(self) -> None:
        """Ctrl-C: running points interrupt their kernels and are recorded as interrupted, the others stay pending."""
        ...
