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

import re
import secrets
import threading
import time
from typing import Any

from kit.errors import SchedulerError
from kit.record.sweep import PointStatus
from kit.running import stopping
from kit.shorten import shown
from kit.sweeping.plan import SweepPlan
from kit.sweeping.point import Job, Outcome, run_job
from kit.sweeping.pool import Pool

#: Seconds to connect to the scheduler (Dask retries a refused connection meanwhile).
CONNECT_TIMEOUT = 5
#: Seconds for the scheduler to connect and answer as a Dask scheduler does: a port that takes connections and
#: says nothing (or speaks HTTP, as the dashboard's does) is refused after this long, not waited on for minutes.
ANSWER_TIMEOUT = 6
#: The address schemes of a Dask scheduler kit connects to (no scheme: tcp).
SCHEMES = ("tcp", "tls")
#: Seconds the points still running get to record themselves after Ctrl-C.
STOP_WAIT = 60
#: The same after SIGTERM, within the 10 s docker stop and Kubernetes give: points not back by then stay pending.
TERMINATED_WAIT = 6


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
        return run_job(Job.from_dict(job), stop=stop).to_dict()
    finally:
        finished.set()


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0][:100] if str(error) else type(error).__name__


def check_address(address: str) -> None:
    """SchedulerError unless ``address`` is a scheduler's, ``[tcp://|tls://]HOST:PORT``."""
    scheme, separator, location = address.rpartition("://") if isinstance(address, str) else ("", "", "")
    if separator and scheme not in SCHEMES:
        raise SchedulerError(address, f"{shown(scheme + '://', 20)} is not a Dask address: it starts with tcp://")
    host, _, port = location.rpartition(":")
    if not host.strip() or not re.fullmatch("[0-9]{1,5}", port) or not 0 < int(port) < 65536:
        raise SchedulerError(address, "not an address: HOST:PORT, such as tcp://scheduler:8786")


def identify(address: str) -> None:
    """SchedulerError unless a Dask scheduler answers at ``address`` within ANSWER_TIMEOUT seconds."""
    import asyncio

    async def identity() -> object:
        from distributed.comm import connect
        from distributed.security import Security

        arguments = Security().get_connection_args("client")  # TLS as the Client would (dask's configuration)
        comm = await connect(address, timeout=CONNECT_TIMEOUT, **arguments)  # connects, then reads the handshake
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    answer: dict[str, object] = {}

    def ask() -> None:  # in a thread with its own event loop: kit.sweep may be called from a notebook's loop
        try:
            answer["reply"] = asyncio.run(asyncio.wait_for(identity(), ANSWER_TIMEOUT))
        except BaseException as error:  # said below; a stray peer can make Dask raise anything (MemoryError)
            answer["error"] = error

    thread = threading.Thread(target=ask, name="kit-dask-identity", daemon=True)
    thread.start()
    thread.join(ANSWER_TIMEOUT + 2)
    error, reply = answer.get("error"), answer.get("reply")
    if isinstance(error, TimeoutError) or (error is None and "reply" not in answer):
        problem = (
            f"it takes connections but gave no Dask answer in {ANSWER_TIMEOUT} s: is it the scheduler's port (8786), "
            "not the dashboard's (8787)?"
        )
    elif _closed(error) or (error is not None and not isinstance(error, OSError)):
        problem = "it answered, but not as a Dask scheduler: is it the dashboard's port (8787)?"
    elif error is not None:
        problem = _first_line(error)
    elif not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        kind = reply.get("type") if isinstance(reply, dict) else None
        problem = f"it is a Dask {shown(kind, 20)}, not the scheduler" if kind else "it is not a Dask scheduler"
    else:
        return
    raise SchedulerError(address, problem)


def _closed(error: BaseException | None) -> bool:
    from distributed.comm.core import CommClosedError

    return isinstance(error, CommClosedError)


class DaskPool(Pool):
    """Sends a sweep's points to the Dask cluster at ``plan.scheduler``, one task each."""

    def __init__(self, plan: SweepPlan) -> None:
        self.scheduler = plan.scheduler
        self.jobs = [Job.of(plan.info, index, point, plan.runs_dir) for index, point in plan.plans.items()]
        self.client = None
        self._futures: dict[Any, int] = {}
        self._stop = None
        self._stopped_at: float | None = None

    def connect(self) -> DaskPool:
        """Reach the scheduler (SchedulerError), before the sweep writes anything.

        The address is checked, then asked who it is (a Dask scheduler answers ``identity``) within ANSWER_TIMEOUT,
        and only then is the Client made: a Client that fails to start waits for its loop at exit and prints a
        traceback, and its own timeout does not cover a peer that takes the connection and never answers.
        """
        from distributed import Client

        check_address(self.scheduler)
        identify(self.scheduler)
        try:
            self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise SchedulerError(self.scheduler, _first_line(error)) from None
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
        wait = TERMINATED_WAIT if stopping.terminated() else STOP_WAIT
        if self._stopped_at is not None and time.monotonic() - self._stopped_at > wait:
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
