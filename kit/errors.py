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
