"""Executing a prepared run's cells with papermill, in a kernel of its own, into the run's hidden record.

:func:`execute` returns the run's :class:`kit.record.Failure` (None when every cell ran), whatever the notebook,
its kernel or a timeout did; only Ctrl-C and a sweep stopping before the first cell (:class:`.kernel.Stopped`) are
raised. The kernel gets the run's thread counts, hash seed and record in its environment, and nothing else of this
process changes: no chdir, so a sweep runs many at once.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kit import settings
from kit.record import Failure
from kit.record.layout import RunLayout
from kit.running import failure
from kit.running.engine import engine_name
from kit.running.inputs import hashing_meanwhile
from kit.running.kernel import Stopped, Watch, manager_class
from kit.running.plan import Plan, kernel_timeout


def _unformatted(path: Path) -> str:
    """A path papermill will not change: it formats paths with the parameters (``{seed}``), so braces are doubled."""
    return str(path).replace("{", "{{").replace("}", "}}")


#: The IPython extension that records the files a run reads (:mod:`kit.tracking.inputs`), by its module's name.
INPUT_CAPTURE = "kit.tracking.inputs"


class _CheckedNames(logging.Filter):
    """Drops papermill's "Passed unknown parameter" warnings: kit checked every name against the notebook itself.

    papermill's own reader of the parameters cell misses some, such as ``limit: int | None = None``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Passed unknown parameter")


def _kernel_arguments(plan: Plan) -> list[str]:
    """The kernel's command line: quiet, and in Python, recording the files the notebook reads from the start."""
    # The kernel listens on localhost only; its warning about unencrypted TCP is noise in a batch run.
    arguments = ["--IPKernelApp.log_level=ERROR"]
    if plan.notebook.language == "python":
        arguments.append(f"--IPKernelApp.extra_extensions={INPUT_CAPTURE}")
    return arguments


def execute(plan: Plan, record: RunLayout, run_id: str, *, progress: bool, watch: Watch) -> Failure | None:
    """Execute the plan's notebook into ``record``: None when every cell ran, else where and how it failed."""
    import papermill

    papermill_log = logging.getLogger("papermill")
    if not any(isinstance(existing, _CheckedNames) for existing in papermill_log.filters):
        papermill_log.addFilter(_CheckedNames())

    replies: dict[int, dict] = {}

    def on_cell_error(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply.get("content", {})

    kernel_env = {
        **plan.invocation.threads.variables(),
        "PYTHONHASHSEED": plan.invocation.hash_seed,
        **settings.kernel_variables(record.root, plan.runs_dir, run_id),
    }
    with hashing_meanwhile(record.inputs_log):  # the large files the notebook reads, hashed in this process
        try:
            papermill.execute_notebook(
                _unformatted(plan.notebook.path),
                _unformatted(record.notebook),
                parameters=plan.invocation.parameters,
                kernel_name=plan.invocation.kernel,
                engine_name=engine_name(),
                language=plan.notebook.language,
                progress_bar=progress,
                execution_timeout=kernel_timeout(plan.invocation),
                request_save_on_cell_execute=True,
                kernel_manager_class=manager_class(kernel_env, record.kernel_log, watch),
                resources={"metadata": {"path": plan.invocation.cwd}},
                extra_arguments=_kernel_arguments(plan),
                on_cell_error=on_cell_error,
                on_cell_execute=watch.cell_executes,
            )
        except Stopped:  # a sweep stopped before the first cell: not a failure, nothing ran
            raise
        except Exception as error:  # the notebook raised, a cell timed out, the kernel died: all are recorded
            from papermill.exceptions import PapermillExecutionError

            if not watch.ran_cells and not isinstance(error, PapermillExecutionError):  # no cell ran: the kernel failed
                return failure.kernel_not_started(error, record.kernel_log)
            return failure.of(error, replies, record.notebook)
    return None
