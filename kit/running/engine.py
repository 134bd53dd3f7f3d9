"""papermill's engine for kit's runs: the notebook is saved as the run starts and ends, between cells only now and then.

Between cells it is saved at most every :data:`SAVE_EVERY` seconds.

papermill saves the whole notebook before and after every cell, markdown ones included; each save is indented JSON
written by Python's pure-Python encoder (a few ms for a small notebook, more with figures). For a notebook of short
cells that is most of what running it costs kit's own process (0.4 CPU seconds a run for train_tabular.ipynb),
and in a sweep those seconds are taken from the kernels. The saves that matter stay: the notebook is on disk as
soon as the run starts, a long cell's output is saved as papermill's autosave does, and the notebook is saved
whole when the run ends, however it ends (a failure, a timeout, Ctrl-C), before the record is completed: once,
where papermill saved it twice.
"""

from __future__ import annotations

import functools

#: The name kit's engine is registered under with papermill.
NAME = "kit"
#: Least seconds between two saves of the notebook between cells (papermill: none).
SAVE_EVERY = 5.0


def engine_name() -> str:
    """Register kit's engine with papermill (once is enough, again is harmless) and return its name."""
    from papermill.engines import papermill_engines

    papermill_engines.register(NAME, _engine())
    return NAME


@functools.cache
def _engine():
    from papermill.engines import NBClientEngine, NotebookExecutionManager

    class Manager(NotebookExecutionManager):
        """papermill's execution state, saving between cells only when the last save is old enough."""

        _between_cells = False
        #: papermill writes the notebook itself as it returns without an exception: the last save can be left to it.
        papermill_saves_last = False

        def save(self, **kwargs):
            if self.papermill_saves_last:
                return
            if self._between_cells and (self.now() - self.last_save_time).total_seconds() < SAVE_EVERY:
                return
            super().save(**kwargs)

        def cell_start(self, cell, cell_index=None, **kwargs):
            self._between_cells = True
            try:
                super().cell_start(cell, cell_index, **kwargs)
            finally:
                self._between_cells = False

        def cell_complete(self, cell, cell_index=None, **kwargs):
            self._between_cells = True
            try:
                super().cell_complete(cell, cell_index, **kwargs)
            finally:
                self._between_cells = False

    class Engine(NBClientEngine):
        """papermill's nbclient engine with :class:`Manager` (``Engine.execute_notebook``, with one class changed)."""

        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):  # fmt: skip
            manager = Manager(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                              autosave_cell_every=autosave_cell_every)  # fmt: skip
            manager.notebook_start()
            try:
                cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
            except BaseException:  # papermill will not write the notebook: saved here, complete
                manager.cleanup_pbar()
                manager.notebook_complete()
                raise
            manager.cleanup_pbar()
            manager.papermill_saves_last = True
            manager.notebook_complete()
            return manager.nb

    return Engine
