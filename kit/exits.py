"""Exit codes of the ``kit`` command, named in one place (the README lists them too)."""

from enum import IntEnum


class ExitCode(IntEnum):
    """What ``kit`` exits with."""

    SUCCESS = 0
    #: The notebook failed (or its record could not be completed): the run is recorded, status.json says why.
    RUN_FAILED = 1
    #: A user mistake (a missing notebook, an unknown parameter, a damaged record): nothing was run or written.
    USAGE = 2
    #: ``kit verify``: the re-execution gave different metrics or artifacts; ``kit parity``: different predictions.
    NOT_REPRODUCED = 3
    #: The runs directory cannot keep the record (full, or read-only): what the run wrote there is removed, except a
    #: small failed record of it when that fits; the error line says which, and what to free.
    RECORD_NOT_KEPT = 4
    #: ``kit verify``: a file the run read has changed or is missing since (nothing was run; --ignore-inputs runs).
    INPUTS_CHANGED = 5
    #: Interrupted with Ctrl-C; a run in progress is recorded as interrupted.
    INTERRUPTED = 130
    #: Terminated by SIGTERM (docker stop, kill, a cancelled CI job, an evicted pod); recorded as interrupted.
    TERMINATED = 143
