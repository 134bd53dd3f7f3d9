"""What bounds the server: the bytes of request bodies in flight, and how long a client may take.

A request body of N bytes of JSON costs several times N while it is read, parsed and turned into an array. The
budget of body bytes in flight is derived from the container's memory limit (read from the cgroup, as
:func:`kit.running.threads.cpu_quota` reads the CPU quota), so that no mix of legitimate requests gets the server
OOM-killed: a request over what is left waits briefly for others to finish, then is answered 503 with
``Retry-After``.

================================  ==========  ======================================================================
limit                             value       what happens
================================  ==========  ======================================================================
headers of a request              10 s        from the connection (or the end of the previous request) until the
                                              headers are complete, else 408 and the connection is closed
request body                      30 s        from the headers until the last byte, else 408 and closed
idle keep-alive connection        5 s         closed after a response when no new request starts
connections per worker            1,000       beyond, requests are answered 503 at once
body bytes in flight              see above   over the budget: waits up to 2 s, then 503 with ``Retry-After: 1``
================================  ==========  ======================================================================
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
KEEP_ALIVE = 5
MAX_CONNECTIONS = 1000
#: How long a request over the memory budget waits for others to finish before it is answered 503.
BUDGET_WAIT = 2.0
RETRY_AFTER = 1
#: Bytes of memory a byte of JSON body costs at its peak (the body, its parsed lists of floats, the arrays): measured
#: 8.8 (a 14.5 MB body of floats raised the peak by 127 MB, kit image, cgroup v1's max_usage_in_bytes).
AMPLIFICATION = 9
#: The share of the memory limit request bodies may use; the rest is Python, the libraries and the model (about
#: 130 MB for the diagnosis pipeline): 512 MiB gives about 37 MB, two 15.5 MB bodies at once.
SHARE = 0.65
#: Without a cgroup limit: the machine's memory.
_UNLIMITED = 1 << 62


def memory_limit() -> int | None:
    """The container's memory limit in bytes (``docker run --memory``), from cgroup v2 or v1; None when unlimited."""
    for path in (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text == "max" or not text.isdigit() or int(text) >= _UNLIMITED:
            return None
        return int(text)
    return None


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def body_budget(workers: int = 1) -> int:
    """The bytes of request bodies one worker may hold in flight: its share of the memory limit (or the machine's)."""
    memory = memory_limit() or physical_memory() or 4 << 30
    return max(1 << 20, int(memory * SHARE / AMPLIFICATION / max(1, workers)))


class BodyBudget:
    """Bytes of request bodies in flight, at most ``capacity``: taken before a body is read, given back after.

    Used from the event loop only: the fast path (enough left) takes without awaiting anything.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity, self.used = capacity, 0
        self._freed: asyncio.Event | None = None

    def try_take(self, size: int) -> bool:
        if self.used + size > self.capacity:
            return False
        self.used += size
        return True

    async def take(self, size: int, wait: float = BUDGET_WAIT) -> bool:
        """Whether ``size`` bytes were taken, waiting up to ``wait`` seconds for other requests to give theirs back."""
        if self.try_take(size):
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            if self._freed is None:
                self._freed = asyncio.Event()
            freed = self._freed
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(freed.wait(), remaining)
            except TimeoutError:
                return self.try_take(size)
            if self.try_take(size):
                return True

    def give(self, size: int) -> None:
        self.used -= size
        if self._freed is not None:
            self._freed.set()
            self._freed = None
