"""Exit codes of the ``kit`` command, named in one place."""

from enum import IntEnum


class ExitStatus(IntEnum):
    """What ``kit`` exits with."""

    SUCCESS = 0
    #: The notebook raised: the run record is complete and its status.json names the failing cell.
    RUN_FAILED = 1
    #: A user mistake (a missing notebook, an unknown parameter, a value of the wrong type): nothing was run.
    USAGE = 2
    #: ``kit verify``: the re-execution gave different metrics or artifacts.
    NOT_REPRODUCED = 3
    #: Interrupted with Ctrl-C; a run in progress is recorded as failed.
    INTERRUPTED = 130
