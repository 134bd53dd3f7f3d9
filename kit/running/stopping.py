"""Being told to stop from outside: Ctrl-C (SIGINT), and SIGTERM, which ends a run or a sweep the same way.

SIGTERM is what ``docker stop``, ``kill PID``, a cancelled CI job and an evicted Kubernetes pod send; left to
Python's default it kills kit at once and the run's record stays hidden, saying "running". :func:`terminate_like_ctrl_c`
makes it go through whatever Ctrl-C does at that moment (papermill stopping the kernel, a sweep interrupting its
points), remembering which signal it was, so that records say so and kit exits 143 rather than 130.

:func:`deferred` holds both signals back while a record is being completed (a fraction of a second): the record is
finished and published first, then the signal takes effect.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: What each stopping signal is called in records and messages.
NAMES = {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM (docker stop, kill, a cancelled job, an eviction)"}
_received: list[int] = []


def terminate_like_ctrl_c() -> None:
    """From now on SIGTERM ends this process as Ctrl-C does (main thread only; once per process is enough)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum, frame) -> None:
    _received.append(signum)
    _like_ctrl_c(frame)


def _like_ctrl_c(frame) -> None:
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)  # Python's own (KeyboardInterrupt) or asyncio's (cancels the main task)
    else:  # SIGINT ignored (a background job of a script): stop all the same
        raise KeyboardInterrupt


def terminated() -> bool:
    """Whether this process was sent SIGTERM (and is stopping because of it)."""
    return signal.SIGTERM in _received


def cause() -> str:
    """The signal that stopped this process, as records and messages name it."""
    return NAMES[signal.SIGTERM if terminated() else signal.SIGINT]


@contextmanager
def deferred() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM back inside the block: it gets the list of those that came, to act on after it.

    Only the main thread can; elsewhere (a sweep's worker threads, which signals never reach) it does nothing.
    """
    came: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield came
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, lambda signum, frame: came.append(signum))
    try:
        yield came
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _received.extend(number for number in came if number == signal.SIGTERM)
