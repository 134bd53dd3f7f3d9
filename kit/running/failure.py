"""Where and how a run failed, from what papermill raised and the notebook it saved so far."""

from __future__ import annotations

from pathlib import Path

from kit.record import Failure
from kit.record.jsonfile import read_json

#: The longest error message kept in status.json (the notebook keeps the whole traceback).
MAX_EVALUE = 10_000


def last_started(notebook: Path) -> tuple[int | None, int | None]:
    """The index and execution count of the last cell papermill started, from the notebook it saved so far."""
    started: tuple[int | None, int | None] = (None, None)
    try:
        cells = [cell for cell in read_json(notebook)["cells"] if "papermill-error-cell-tag" not in _tags(cell)]
        for index, cell in enumerate(cells):
            if cell["metadata"].get("papermill", {}).get("status") in ("running", "completed", "failed"):
                started = (index, cell.get("execution_count"))
    except (OSError, ValueError, LookupError, TypeError, AttributeError):  # not saved yet, or not a notebook
        pass
    return started


def _tags(cell: dict) -> list:
    return cell.get("metadata", {}).get("tags", [])


def of(error: BaseException, replies: dict[int, dict], notebook: Path) -> Failure:
    """Where and how the run failed: the kernel's own error name and message whenever it sent one."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(error, PapermillExecutionError):
        reply = replies.get(error.cell_index, {})  # papermill says CellExecutionError where no output shows it
        ename = reply.get("ename") or error.ename
        evalue = reply.get("evalue") if reply.get("ename") else error.evalue
        return Failure(ename, (evalue or "")[:MAX_EVALUE], error.cell_index, error.exec_count)
    index, count = last_started(notebook)  # a timeout or a dead kernel: the cell that was running
    return Failure(type(error).__name__, str(error)[:MAX_EVALUE], index, count)


def interrupted(notebook: Path, signal: str) -> Failure:
    """Ctrl-C or SIGTERM (``signal`` names it): the run stopped in the last cell it started."""
    return Failure("KeyboardInterrupt", signal, *last_started(notebook))


def unexpected(error: BaseException) -> Failure:
    """An error that is not the notebook's (the record's first files could not be written, say)."""
    return Failure(type(error).__name__, str(error)[:MAX_EVALUE])


def kernel_not_started(error: BaseException, kernel_log: Path) -> Failure:
    """The kernel died or never answered before the first cell: no cell ran; why, from the kernel's own log."""
    try:
        with open(kernel_log, "rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - 4096))
            lines = log.read().decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    said = next((line.strip() for line in reversed(lines) if line.strip()), "") or f"{type(error).__name__}: {error}"
    return Failure("KernelNotStarted", f"the kernel did not start: {said} (kernel.log has its output)"[:MAX_EVALUE])
