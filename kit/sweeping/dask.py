"""The Dask path: a sweep's points sent to a Dask distributed cluster whose workers run the kit image.

The workers must see the notebook and the runs directory at the same paths as the process that starts the sweep
(a shared volume). Each point is one task, :func:`run_on_worker`, that prepares the point's
:class:`kit.sweeping.point.Job` on its worker (checking the notebook's sha256) and runs it there. Run the workers
with one thread each (``dask worker ADDRESS --nthreads 1``, one worker per CPU): a point's kernel uses the sweep's
thread count.

When a worker dies, Dask runs its tasks again on another one. The point's run id is fixed and its record
retryable (:mod:`kit.sweeping.point`): the retry writes a fresh record, whatever the dead attempt left behind (a
hidden ``.ID+ATTEMPT.partial``), and a point is recorded once even if the "dead" worker was only cut off and
finishes too. Ctrl-C sets a cluster-wide Event: running points interrupt their kernels and are recorded as
interrupted, the others return without starting.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from kit.errors import SchedulerError
from kit.sweeping.point import Job, Outcome, run_job
from kit.sweeping.record import PointStatus

#: Seconds to wait for the scheduler to answer.
CONNECT_TIMEOUT = 10
#: Seconds the points still running get to record themselves after Ctrl-C.
STOP_WAIT = 60


def run_on_worker(job: dict[str, Any], stop_event: str) -> dict[str, Any]:
    """The task of one point, on a worker: its outcome as plain data (a failed run is an outcome, not an error)."""
    from distributed import Event, get_client

    stop, finished = threading.Event(), threading.Event()
    cluster_stop = Event(stop_event, client=get_client())

    def watch() -> None:
        while not finished.is_set():
            try:
                if cluster_stop.wait(timeout=1):
                    stop.set()
                    return
            except Exception:  # the scheduler is away for a moment: the point goes on
                time.sleep(1)

    threading.Thread(target=watch, name="kit-sweep-stop", daemon=True).start()
    try:
        return run_job(Job(**job), stop=stop).to_dict()
    finally:
        finished.set()


class DaskPool:
    """Sends jobs to a Dask cluster; :meth:`poll` returns the outcomes of the points that finished since."""

    def __init__(self, jobs: list[Job], scheduler: str) -> None:
        self.jobs, self.scheduler = jobs, scheduler
        self.client = None
        self._futures: dict[Any, int] = {}
        self._stop = None
        self._stopped_at: float | None = None

    def connect(self) -> DaskPool:
        """Reach the scheduler (SchedulerError), before the sweep writes anything."""
        from distributed import Client

        try:
            self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise SchedulerError(self.scheduler, str(error).splitlines()[0][:100] if str(error) else "") from None
        return self

    def __enter__(self) -> DaskPool:
        from distributed import Event

        if self.client is None:
            self.connect()
        name = f"kit-sweep-stop-{secrets.token_hex(8)}"
        self._stop = Event(name, client=self.client)
        for job in self.jobs:
            future = self.client.submit(run_on_worker, job.to_dict(), name, key=f"kit-sweep-{job.run_id}", pure=False)
            self._futures[future] = job.index
        return self

    def __exit__(self, *exception) -> None:
        if exception[0] is not None:
            self.stop()
        self.client.close()

    @property
    def done(self) -> bool:
        return not self._futures

    @property
    def running(self) -> int:
        """Points a worker has taken (at most as many as the workers have threads)."""
        try:
            ours = {future.key for future in self._futures}
            taken = sum(len(ours & set(keys)) for keys in self.client.processing().values())
            threads = sum(self.client.nthreads().values())
        except Exception:  # the scheduler is away for a moment
            return 0
        return min(taken, threads)

    def poll(self, timeout: float) -> list[Outcome]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not any(future.done() for future in self._futures):
            time.sleep(0.05)  # a future's state is local: looking costs nothing
        outcomes = []
        for future in [future for future in self._futures if future.done()]:
            index = self._futures.pop(future)
            outcomes.append(self._outcome(index, future))
        if self._stopped_at is not None and time.monotonic() - self._stopped_at > STOP_WAIT:
            for future, index in self._futures.items():  # the cluster did not answer: those points stay pending
                future.cancel()
                outcomes.append(Outcome(index, PointStatus.PENDING))
            self._futures.clear()
        return outcomes

    @staticmethod
    def _outcome(index: int, future) -> Outcome:
        if future.status == "finished":
            return Outcome.from_dict(future.result())
        try:
            error = future.exception(timeout=1)
        except Exception as problem:  # cancelled, or lost with the scheduler
            error = problem
        return Outcome(index, PointStatus.ERROR, None, f"the cluster could not run it: {type(error).__name__}: {error}")

    def stop(self) -> None:
        if self._stopped_at is None:
            self._stopped_at = time.monotonic()
            try:
                self._stop.set()
            except Exception:  # the scheduler is gone: nothing runs there anyway
                pass
