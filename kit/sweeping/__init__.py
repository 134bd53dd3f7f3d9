"""Sweeps: a notebook run at every point of a grid, each point an ordinary run with its own complete record.

:mod:`.grid` expands ``-p`` lists and grid files into points; :mod:`.driver` prepares every point before any runs,
runs them and keeps the sweep record (:mod:`.record`, ``RUNS/sweeps/SWEEP/sweep.json``). The points run on this
machine (:mod:`.local`), on a Dask cluster (:mod:`.dask`), or in a Kubernetes Indexed Job that :mod:`.kubernetes`
writes; :mod:`.point` runs one point so that it is recorded once, however often it is tried.
"""

from kit.sweeping.driver import emit_kubernetes, resume, sweep
from kit.sweeping.grid import Grid
from kit.sweeping.record import Sweep, find_sweep

__all__ = ["Grid", "Sweep", "emit_kubernetes", "find_sweep", "resume", "sweep"]
