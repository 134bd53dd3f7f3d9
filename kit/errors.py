"""The one base exception of kit and its subclasses; ``str(error)`` is one line that says what to do."""

from __future__ import annotations

from kit.status import ExitStatus


class KitError(Exception):
    """Base of every error kit raises on purpose; the CLI prints it as one ``error: ...`` line."""

    exit_status = ExitStatus.USAGE


class NotebookError(KitError):
    """The notebook is missing, not JSON, or not a valid notebook."""

    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}: {fix}")


class ParameterError(KitError):
    """A parameter is unknown, or its value does not fit the parameter's type."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


class RunError(KitError):
    """A run that started and did not succeed; its record is complete at ``run_dir``."""

    def __init__(self, run_dir, message: str) -> None:
        self.run_dir = run_dir
        super().__init__(message)


class RunFailed(RunError):
    """The notebook raised (or a cell timed out); ``failure`` holds the cell index, error name and message."""

    exit_status = ExitStatus.RUN_FAILED

    def __init__(self, run_dir, failure: dict) -> None:
        self.failure = failure
        index, count = failure.get("cell_index"), failure.get("execution_count")
        where = "the kernel" if index is None else f"cell {index}" + (f" (In [{count}])" if count else "")
        evalue = (failure.get("evalue") or "").strip().splitlines()
        detail = f"{failure.get('ename')}: {evalue[0].rstrip('.')}" if evalue else failure.get("ename")
        fix = ": pass a larger --timeout, or none" if failure.get("ename") == "CellTimeoutError" else ""
        super().__init__(run_dir, f"{where} failed with {detail}{fix}; the record is in {run_dir} (kit report)")


class Interrupted(RunError):
    """Ctrl-C during a run: the run is recorded as interrupted."""

    exit_status = ExitStatus.INTERRUPTED

    def __init__(self, run_dir) -> None:
        super().__init__(run_dir, f"interrupted: the partial run is recorded in {run_dir}")


class NotReproduced(KitError):
    """``kit verify``: the re-execution gave different metrics or artifacts."""

    exit_status = ExitStatus.NOT_REPRODUCED
