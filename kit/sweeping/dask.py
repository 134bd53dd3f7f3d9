"""The Dask path: a sweep's points sent to a Dask distributed cluster whose workers run the kit image.

Two modes, recorded in the sweep's record as ``dask_mode``:

- ``shared``: the workers see the notebook and the runs directory at the same paths as the client (a shared
  volume). Each point is one task, :func:`run_on_worker`, that prepares the point's
  :class:`kit.sweeping.point.Job` on its worker (checking the notebook's sha256) and writes its record there.
- ``ship``: the workers share nothing with the client but the scheduler. Each point's task,
  :func:`ship_on_worker`, gets the notebook's bytes with the point, runs it in a private folder of the worker and
  answers with its record, which the client commits into its runs directory (:mod:`.shipping`); files too large
  to come with the answer are fetched in chunks by tasks pinned to that worker.

``auto`` (the default) is ``shared`` when every worker reads a file the client just wrote into its runs directory,
else ``ship``. Before anything is written the client checks the cluster: the scheduler answers (:func:`identify`),
a worker joins within $KIT_DASK_WAIT seconds, and every worker runs the client's kit and lock (runs of another
version would not be comparable). Run the workers with one thread each (``dask worker ADDRESS --nthreads 1``, one
worker per CPU): a point's kernel uses the sweep's thread count. Each run's environment.json names its worker.

When a worker dies, Dask runs its tasks again on another one. In ``shared`` mode the point's run id is fixed and
its record retryable (:mod:`kit.sweeping.point`): the retry writes a fresh record, whatever the dead attempt left
behind (a hidden ``.ID+ATTEMPT.partial``), and a point is recorded once even if the "dead" worker was only cut
off and finishes too. In ``ship`` mode the client alone writes records, once per point; a point whose worker
left before its record was fetched runs again. Ctrl-C sets a cluster-wide Event: running points interrupt their
kernels and are recorded as interrupted, the others return without starting.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from kit import settings
from kit.errors import ClusterError, KitError, OptionError, SchedulerError
from kit.record.hashing import sha256
from kit.record.sweep import PointStatus
from kit.running import stopping
from kit.shorten import shown
from kit.sweeping import shipping
from kit.sweeping.plan import AUTO, SHARED, SHIP, SweepPlan
from kit.sweeping.point import Job, Outcome, run_job
from kit.sweeping.pool import Pool
from kit.version import __version__

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
#: Seconds to wait for a first worker, unless $KIT_DASK_WAIT says otherwise.
WORKER_WAIT = 60
#: Times a shipped point runs again when its worker left before its record was fetched.
REFETCHES = 3
#: Records fetched and committed at once on the client, each one chunk at a time.
COMMITTERS = 2
#: Seconds one chunk may take to arrive from a worker that is still there.
CHUNK_TIMEOUT = 600


@cache
def fingerprint() -> dict[str, str | None]:
    """What must be the same on the client and every worker for their runs to compare: kit and the image's lock."""
    lock = settings.IMAGE_LOCK
    return {"kit": __version__, "lock": sha256(lock) if lock.is_file() else None}


def _said(found: dict[str, str | None]) -> str:
    lock = found.get("lock")
    return f"kit {found.get('kit')}" + (f" (lock {lock[:12]})" if lock else " (no image lock)")


def _unlike(found: Any, expected: dict[str, str | None]) -> str | None:
    """Why a worker's fingerprint differs from the client's; None when it does not."""
    if found == expected:
        return None
    return f"runs {_said(found) if isinstance(found, dict) else shown(found, 40)}, the client {_said(expected)}"


def worker_here() -> dict[str, str]:
    """The worker this task runs on, as each run records it: its address, name and host."""
    from distributed import get_worker

    worker = get_worker()
    return {"address": worker.address, "name": str(worker.name), "host": socket.gethostname()}


@contextmanager
def watching(stop_event: str) -> Iterator[threading.Event]:
    """A local Event set once the cluster-wide Event ``stop_event`` is (Ctrl-C on the client), while inside."""
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
        yield stop
    finally:
        finished.set()


def run_on_worker(job: dict[str, Any], stop_event: str, expected: dict | None = None) -> dict[str, Any]:
    """One point's task in ``shared`` mode: its outcome as plain data (a failed run is an outcome, not an error)."""
    worker = worker_here()
    index = job.get("index", 0)
    if expected is not None and (problem := _unlike(fingerprint(), expected)):
        message = f"worker {worker['address']} {problem}: {FIX_VERSION}"
        return Outcome(index, PointStatus.ERROR, None, message).to_dict()
    with watching(stop_event) as stop:
        return run_job(Job.from_dict(job), stop=stop, worker=worker).to_dict()


def ship_on_worker(parcel: shipping.Parcel, notebook: bytes, stop_event: str, expected: dict,
                   max_bytes: int) -> shipping.Delivery:  # fmt: skip
    """The task of one point in ``ship`` mode: run it in a private folder of the worker, and say what it recorded."""
    from distributed import get_worker

    worker = worker_here()
    if problem := _unlike(fingerprint(), expected):
        message = f"worker {worker['address']} {problem}: {FIX_VERSION}"
        return shipping.Delivery(Outcome(parcel.index, PointStatus.ERROR, None, message), worker=worker["address"])
    kept = Path(get_worker().local_directory) / "kit-points"  # Dask removes it with the worker
    kept.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{parcel.run_id[-40:]}-", dir=kept))
    with watching(stop_event) as stop:
        return shipping.run_parcel(parcel, notebook, folder, max_bytes=max_bytes, stop=stop, worker=worker)


def _sees(probe: str, token: str) -> bool:
    """Whether this worker reads ``token`` in the file ``probe`` the client wrote (it shares the runs directory)."""
    try:
        return Path(probe).read_text() == token
    except (OSError, ValueError):
        return False


FIX_VERSION = "start every worker from the client's image (the same kit and requirements lock)"


def _seconds(variable: str, default: float) -> float:
    given = os.environ.get(variable, "").strip()
    if not given:
        return default
    try:
        value = float(given)
    except ValueError:
        value = -1
    if not 0 < value <= 10**6:
        raise OptionError(variable, f"{variable} must be a number of seconds above 0, not {shown(given)}: e.g. 120")
    return value


def max_record_bytes() -> int:
    """The largest record a worker sends back in ``ship`` mode: $KIT_DASK_MAX_RECORD_MB, else the default."""
    given = os.environ.get(settings.DASK_MAX_RECORD_MB_ENV, "").strip()
    if not given:
        return shipping.MAX_RECORD_MB << 20
    if not given.isdigit() or not 0 < int(given) <= 1 << 30:
        raise OptionError(settings.DASK_MAX_RECORD_MB_ENV, f"{settings.DASK_MAX_RECORD_MB_ENV} must be a whole number "
                          f"of megabytes above 0, not {shown(given)}: e.g. 4096")  # fmt: skip
    return int(given) << 20


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
    """Sends a sweep's points to the Dask cluster at ``plan.scheduler``, one task each.

    ``mode`` is the plan's ``dask_mode``, ``auto`` resolved by :meth:`connect` (see the module).
    """

    def __init__(self, plan: SweepPlan) -> None:
        self.plan, self.scheduler, self.mode = plan, plan.scheduler, plan.info.dask_mode or AUTO
        self.max_bytes = max_record_bytes()
        self.wait = _seconds(settings.DASK_WAIT_ENV, WORKER_WAIT)
        self.client = None
        self._futures: dict[Any, int] = {}
        self._commits: dict[Future, tuple[int, shipping.Delivery]] = {}
        self._tries: dict[int, int] = {}
        self._committer: ThreadPoolExecutor | None = None
        self._stop = None
        self._stopped_at: float | None = None

    def connect(self) -> DaskPool:
        """Reach the scheduler (SchedulerError) and check its workers (ClusterError), before the sweep writes anything.

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
        try:
            self._check_workers()
            if self.mode == AUTO:
                self.mode = SHARED if self._share_runs() else SHIP
        except BaseException:
            self.client.close()
            raise
        return self

    def _check_workers(self) -> None:
        """ClusterError unless a worker joins within ``self.wait`` seconds and every worker runs the client's kit."""
        try:
            self.client.wait_for_workers(1, timeout=self.wait)
        except TimeoutError:
            raise ClusterError(self.scheduler, f"no worker joined it in {self.wait:g} s",
                               f"start workers (dask worker {self.scheduler} --nthreads 1, from the kit image), or "
                               f"wait longer: {settings.DASK_WAIT_ENV}=SECONDS") from None  # fmt: skip
        expected = fingerprint()
        found = self.client.run(fingerprint, on_error="return")
        for address, said in sorted(found.items()):
            if isinstance(said, BaseException):
                problem = f"cannot run kit ({type(said).__name__}: {_first_line(said)})"
            else:
                problem = _unlike(said, expected)
            if problem:
                raise ClusterError(self.scheduler, f"worker {address} {problem}", FIX_VERSION)

    def _share_runs(self) -> bool:
        """Whether every worker reads, at the same path, a file the client writes into its runs directory now."""
        runs = self.plan.runs_dir.resolve()
        token = secrets.token_hex(16)
        probe = runs / f".kit-probe-{token}"
        try:
            runs.mkdir(parents=True, exist_ok=True)
            probe.write_text(token)
        except OSError:
            return False  # the sweep says why when it writes its record
        try:
            seen = self.client.run(_sees, str(probe), token, on_error="return")
        finally:
            probe.unlink(missing_ok=True)
        return bool(seen) and all(answer is True for answer in seen.values())

    def __enter__(self) -> DaskPool:
        from distributed import Event

        if self.client is None:
            self.connect()
        name = f"kit-sweep-stop-{secrets.token_hex(8)}"
        self._stop = Event(name, client=self.client)
        if self.mode == SHIP:
            self._notebook = self.plan.notebook.path.read_bytes()
            self._committer = ThreadPoolExecutor(COMMITTERS, thread_name_prefix="kit-commit")
        for index in self.plan.plans:
            self._submit(index)
        return self

    def _submit(self, index: int) -> None:
        plan, info = self.plan.plans[index], self.plan.info
        tries = self._tries[index] = self._tries.get(index, -1) + 1
        key = f"kit-sweep-{plan.run_id}" + (f"-{tries}" if tries else "")
        if self.mode == SHIP:
            parcel = shipping.Parcel.of(info, index, plan)
            future = self.client.submit(ship_on_worker, parcel, self._notebook, self._stop.name, fingerprint(),
                                        self.max_bytes, key=key, pure=False)  # fmt: skip
        else:
            job = Job.of(info, index, plan, self.plan.runs_dir)
            future = self.client.submit(run_on_worker, job.to_dict(), self._stop.name, fingerprint(), key=key,
                                        pure=False)  # fmt: skip
        self._futures[future] = index

    def __exit__(self, *exception) -> None:
        if exception[0] is not None:
            self.stop()
        if self._committer is not None:
            self._committer.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    @property
    def done(self) -> bool:
        return not self._futures and not self._commits

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
        while time.monotonic() < deadline and not any(future.done() for future in [*self._futures, *self._commits]):
            time.sleep(0.05)  # a future's state is local: looking costs nothing
        outcomes = []
        for future in [future for future in self._futures if future.done()]:
            index = self._futures.pop(future)
            if self.mode == SHIP and future.status == "finished":
                delivery = future.result()
                future.release()
                self._commits[self._committer.submit(self._commit, delivery)] = (index, delivery)
            else:
                outcomes.append(self._outcome(index, future))
        for commit in [commit for commit in self._commits if commit.done()]:
            index, delivery = self._commits.pop(commit)
            outcome = self._committed(index, delivery, commit)
            if outcome is not None:
                outcomes.append(outcome)
        wait = TERMINATED_WAIT if stopping.terminated() else STOP_WAIT
        if self._stopped_at is not None and time.monotonic() - self._stopped_at > wait:
            for future, index in self._futures.items():  # the cluster did not answer: those points stay pending
                future.cancel()
                outcomes.append(Outcome(index, PointStatus.PENDING))
            self._futures.clear()
        return outcomes

    def _committed(self, index: int, delivery: shipping.Delivery, commit: Future) -> Outcome | None:
        """The outcome of a committed point; None when it runs again (its worker left before its record came)."""
        try:
            return commit.result()
        except shipping.Lost as error:
            if self._tries.get(index, 0) < REFETCHES and self._stopped_at is None:
                self._submit(index)
                return None
            return Outcome(index, PointStatus.ERROR, None, f"its record could not be fetched from its worker: {error}")
        except KitError as error:
            return Outcome(index, PointStatus.ERROR, None, str(error))
        except Exception as error:  # a bug, not a run's failure: the point says so
            return Outcome(index, PointStatus.ERROR, None, f"{type(error).__name__}: {error}")

    def _commit(self, delivery: shipping.Delivery) -> Outcome:
        """Write a delivered record into the runs directory, fetching what is not inline; free the worker's copy."""
        outcome = shipping.commit(delivery, self.plan.runs_dir, lambda *piece: self._fetch(delivery, *piece))
        if delivery.folder is not None:
            self._discard(delivery)
        return outcome

    def _fetch(self, delivery: shipping.Delivery, path: str, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset`` of a file kept on the delivery's worker; Lost when that worker left."""
        future = self.client.submit(shipping.read_chunk, delivery.folder, path, offset, size, pure=False,
                                    workers=[delivery.worker], allow_other_workers=False)  # fmt: skip
        deadline = time.monotonic() + CHUNK_TIMEOUT
        try:
            while True:
                try:
                    return future.result(timeout=2)
                except TimeoutError:
                    if time.monotonic() > deadline or not self._present(delivery.worker):
                        raise shipping.Lost(f"worker {delivery.worker} left before {path} came") from None
                except Exception as error:  # the worker failed to read it, or the scheduler lost the task
                    said = _first_line(error)
                    raise shipping.Lost(f"{path} could not be read on {delivery.worker}: {said}") from None
        finally:
            future.release()

    def _present(self, worker: str) -> bool:
        try:
            return worker in self.client.nthreads()
        except Exception:  # the scheduler is away for a moment
            return True

    def _discard(self, delivery: shipping.Delivery) -> None:
        """Remove the worker's copy of a record once the client has it (the worker's exit removes it otherwise)."""
        from distributed import fire_and_forget

        if self._present(delivery.worker):
            fire_and_forget(self.client.submit(shipping.discard, delivery.folder, pure=False,
                                               workers=[delivery.worker], allow_other_workers=False))  # fmt: skip

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
