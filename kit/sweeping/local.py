"""The local pool: a sweep's points run on this machine, ``workers`` at a time, each a run in a fresh kernel.

The runs share this process (the engine allows it: no chdir, ids reserved atomically), each with a kernel
process of its own. ``workers`` :class:`Slots` limit how many runs execute cells at once; a run's kernel boots
before it takes a slot, and the run shuts its kernel down and completes its record after giving the slot back.
So the next kernel starts while the current runs execute, and the CPUs stay busy: twice as many runs as workers
are in flight, never more than ``workers`` of them executing cells.

Ctrl-C (:meth:`LocalPool.stop`) interrupts the kernels of running points, which are recorded as interrupted;
points not started stay pending.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from kit.record.sweep import PointStatus
from kit.sweeping import point
from kit.sweeping.plan import SweepPlan
from kit.sweeping.point import Outcome
from kit.sweeping.pool import Pool


class Slots:
    """At most ``size`` runs executing cells at once (:class:`kit.running.kernel.Slots`); ``busy`` counts them."""

    def __init__(self, size: int) -> None:
        self.size, self.busy = size, 0
        self._free, self._lock = threading.Semaphore(size), threading.Lock()

    def take(self, stop: threading.Event | None) -> bool:
        while not self._free.acquire(timeout=0.05):
            if stop is not None and stop.is_set():
                return False
        if stop is not None and stop.is_set():
            self._free.release()
            return False
        with self._lock:
            self.busy += 1
        return True

    def give(self) -> None:
        with self._lock:
            self.busy -= 1
        self._free.release()


class LocalPool(Pool):
    """Runs a sweep's prepared points here, ``plan.workers`` at a time."""

    def __init__(self, plan: SweepPlan) -> None:
        self.plans, workers = plan.plans, plan.workers
        self.slots = Slots(workers)
        self._stop = threading.Event()
        self._executor = ThreadPoolExecutor(max(1, min(2 * workers, len(self.plans))), thread_name_prefix="kit-sweep")
        self._futures: dict[Future, int] = {}

    def __enter__(self) -> LocalPool:
        for index, plan in self.plans.items():
            future = self._executor.submit(point.run, index, plan, slots=self.slots, stop=self._stop)
            self._futures[future] = index
        return self

    def __exit__(self, *exception) -> None:
        if exception[0] is not None:
            self._stop.set()
        self._executor.shutdown(wait=True, cancel_futures=True)

    @property
    def done(self) -> bool:
        return not self._futures

    @property
    def running(self) -> int:
        return self.slots.busy

    def poll(self, timeout: float) -> list[Outcome]:
        finished, _ = wait(self._futures, timeout=timeout, return_when=FIRST_COMPLETED)
        outcomes = []
        for future in finished:
            index = self._futures.pop(future)
            try:
                outcomes.append(future.result())
            except Exception as error:  # a bug, not a run's failure (those are outcomes): the point says so
                outcomes.append(Outcome(index, PointStatus.ERROR, None, f"{type(error).__name__}: {error}"))
        return outcomes

    def stop(self) -> None:
        self._stop.set()
