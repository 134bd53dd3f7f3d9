"""Concurrent small requests predicted together: one call of the model per turn of the event loop, no added wait.

The rows of the requests that arrived together are concatenated, predicted (in blocks of
:data:`kit.models.predicting.BLOCK`, so each row's outputs are the bits it gets alone) and split back. A model whose
outputs depend on a row's position in a block (``ServedModel.bit_identical`` false) is never batched.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kit.serving.model import ServedModel


class Batcher:
    """Collects the rows of the requests handled in one turn of the event loop, predicts them in one call."""

    def __init__(self, served: ServedModel) -> None:
        self.served = served
        self._waiting: list[tuple[Any, asyncio.Future]] = []

    async def predict(self, rows) -> dict[str, Any]:
        """``rows``' outputs, predicted with those of the other requests of this turn of the loop."""
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
        try:
            outputs = self.served.predict(numpy.concatenate([rows for rows, _ in waiting]))
        except (ValueError, TypeError):  # one request's rows the model refused: each request answered on its own
            for rows, future in waiting:
                self._alone(rows, future)
            return
        start = 0
        for rows, future in waiting:
            end = start + len(rows)
            if not future.done():
                future.set_result({name: array[start:end] for name, array in outputs.items()})
            start = end

    def _alone(self, rows, future: asyncio.Future) -> None:
        try:
            result = self.served.predict(rows)
        except Exception as error:  # given to the request's handler, which says what it means
            if not future.done():
                future.set_exception(error)
            return
        if not future.done():
            future.set_result(result)
