"""The ``kit`` command: a thin layer over the kit Python API, one module per command group.

:mod:`.group` holds the group and ``main``; :mod:`.run` runs notebooks (``params``, ``run``, ``verify``);
:mod:`.runs` reads records (``runs``, ``runs show``, ``runs diff``, ``report``, ``env``); :mod:`.serve` uses a
run's model (``serve``, ``predict``, ``deploy``); :mod:`.lineage` shows what made a model (``lineage``);
:mod:`.sweep` runs sweeps (``sweep``, ``sweep show``).
"""

from kit.cli import lineage, run, runs, serve, sweep  # noqa: F401 - importing them adds their commands to the group
from kit.cli.group import cli, main

__all__ = ["cli", "main"]
