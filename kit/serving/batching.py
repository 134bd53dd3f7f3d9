"""Concurrent small requests predicted together: one call of the model per turn of the event loop, no added wait.

The rows of the requests that arrived together are concatenated, predicted (in blocks of
:data:`kit.models.predicting.BLOCK`, so each row's outputs are the bits it gets alone) and split back. A model whose
outputs depend on a row's position in a block (``ServedModel.bit_identical`` false) is never batched.

What the server checks and counts of the outputs (rows without a finite answer; /metrics' rows and inputs outside
their training range) is done once for the whole batch, vectorised, not once per request: when every row of the
batch has a finite answer, as almost always, each request gets its outputs with nothing left to check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kit.serving.model import ServedModel

#: Checks a request's (or a batch's) outputs and counts them: the indices of its rows without a finite answer (a
#: request with one is refused, and none of its rows counted).
Check = Callable[[Any, dict[str, Any]], list[int]]


class Batcher:
    """Collects the rows of the requests handled in one turn of the event loop, predicts them in one call."""

    def __init__(self, served: ServedModel, check: Check) -> None:
        self.served, self.check = served, check
        self._waiting: list[tuple[Any, asyncio.Future]] = []

    async def predict(self, rows) -> tuple[dict[str, Any], list[int]]:
        """``rows``' outputs, predicted with those of the other requests of this turn; its rows without a finite answer.

        The rows are what ``check`` found: it checked (and counted) the whole batch at once, or, when some row of
        the batch has no finite answer, each request on its own.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._flush)  # after every request parsed in this turn has added its rows
        self._waiting.append((rows, future))
        return await future

    def _flush(self) -> None:
        import numpy

        waiting, self._waiting = self._waiting, []
        if len(waiting) == 1:
            self._alone(*waiting[0])
            return
        together = numpy.concatenate([rows for rows, _ in waiting])
        try:
            outputs = self.served.predict(together)
        except (ValueError, TypeError):  # one request's rows the model refused: each request answered on its own
            for rows, future in waiting:
                self._alone(rows, future)
            return
        every_row_finite = not self.check(together, outputs)  # once for the batch: then each request has its answer
        start = 0
        for rows, future in waiting:
            end = start + len(rows)
            mine = {name: array[start:end] for name, array in outputs.items()}
            if not future.done():
                future.set_result((mine, [] if every_row_finite else self.check(rows, mine)))
            start = end

    def _alone(self, rows, future: asyncio.Future) -> None:
        try:
            outputs = self.served.predict(rows)
        except Exception as error:  # given to the request's handler, which says what it means
            if not future.done():
                future.set_exception(error)
            return
        if not future.done():
            future.set_result((outputs, self.check(rows, outputs)))
