"""The run record, which every reader and writer of a record, in the kernel or outside it, goes through.

Its layout on disk (:mod:`.layout`), its typed contents (:mod:`.schema`), reading it back (:mod:`.run`), writing it
into the runs directory (:mod:`.store`, :mod:`.jsonfile`), the artifacts' manifest (:mod:`.manifest`, hashed by
:mod:`.hashing`), the files a run read (:mod:`.inputs`) and comparing two records (:mod:`.comparison`).
"""

from kit.record.run import Damaged, Run, find_run, list_runs, scan
from kit.record.schema import Failure, Invocation, Resources, RunInfo, RunStatus, Threads

__all__ = [
    "Damaged",
    "Failure",
    "Invocation",
    "Resources",
    "Run",
    "RunInfo",
    "RunStatus",
    "Threads",
    "find_run",
    "list_runs",
    "scan",
]
