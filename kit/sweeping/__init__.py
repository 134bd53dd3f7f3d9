"""Sweeps: a notebook run at every point of a grid, each point an ordinary run with its own complete record.

:mod:`.grid` expands ``-p`` lists and grid files into points; :mod:`.plan` prepares every point before any runs;
:mod:`.driver` runs them and keeps the sweep record (:mod:`kit.record.sweep`, ``RUNS/sweeps/SWEEP/sweep.json``) and
the progress (:mod:`.progress`). The points run in a pool (the contract in :mod:`.pool`): on this machine
(:mod:`.local`) or on a Dask cluster (:mod:`.dask`); or in a Kubernetes Indexed Job that :mod:`.kubernetes` writes.
:mod:`.point` runs one point so that it is recorded once, however often it is tried.
"""

from kit.record.sweep import Sweep, find_sweep
from kit.sweeping.driver import emit_kubernetes, resume, sweep
from kit.sweeping.grid import Grid

__all__ = ["Grid", "Sweep", "emit_kubernetes", "find_sweep", "resume", "sweep"]
