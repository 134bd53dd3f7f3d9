"""A run's kernel seen from outside: started with the run's environment, measured, given a slot, stopped when asked.

Every run records what its kernel used (:mod:`.resources`). A sweep passes :class:`Slots`, held only while cells
execute (the next run's kernel boots while this one runs, this one's record is completed after it gives the slot
back), and ``stop``, an Event that interrupts the kernel (Ctrl-C, then a kill after :data:`STOP_GRACE`).
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from kit.record import Resources
from kit.running import stopping
from kit.running.resources import Monitor

#: Seconds a kernel asked to stop (Ctrl-C in a sweep) gets to raise KeyboardInterrupt before it is killed.
STOP_GRACE = 10.0
#: The same after SIGTERM: ``docker stop`` and Kubernetes kill everything 10 s after it (their default grace), and
#: the records must be complete before.
TERMINATED_GRACE = 3.0


class Slots(Protocol):
    """Places for runs executing cells at once (a sweep's workers): ``take`` waits for one, False once ``stop``."""

    def take(self, stop: threading.Event | None) -> bool: ...

    def give(self) -> None: ...


class Stopped(Exception):
    """The run was asked to stop before its first cell (a sweep's Ctrl-C while its kernel booted)."""


class Watch:
    """One run's kernel seen from outside: what it uses, the slot it holds in a sweep, stopping it when asked."""

    def __init__(self, slots: Slots | None, stop: threading.Event | None,
                 booting: Callable[[], None] | None = None) -> None:  # fmt: skip
        self.slots, self.stop = slots, stop
        #: Called once the kernel's process exists, while it boots: work the run needs that need not delay it.
        self.booting = booting
        self.monitor: Monitor | None = None
        self._holding, self._pgid, self._stopping_since, self._executing = False, None, None, False
        #: When the run took its slot (time.time()): in a sweep, the run starts then, its kernel booted before.
        self.slot_taken: float | None = None

    @property
    def ran_cells(self) -> bool:
        """Whether the kernel started executing the notebook's cells (it had booted and had its slot)."""
        return self._executing

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def started(self, pid: int, pgid: int | None) -> None:
        self._pgid = pgid
        self.monitor = Monitor(pid, tick=self._interrupt_if_stopping).start()
        if self.booting is not None:
            self.booting()

    def take_slot(self) -> bool:
        """Wait for a place to execute cells; False when the run should stop instead."""
        if self.slots is not None:
            self._holding = self.slots.take(self.stop)
            self.slot_taken = time.time()
            return self._holding
        return not self.stopping

    def cell_executes(self, **_) -> None:
        """nbclient's hook before each code cell: the first waits for a slot (the kernel is booted and ready)."""
        if not self._executing:
            self._executing = True
            if not self.take_slot():
                raise Stopped("stopped before the first cell")

    def cells_done(self) -> None:
        """The last cell ran: measure the kernel before it goes, and give the slot to the next run."""
        self._pgid = None  # nothing left to interrupt: from now on the kernel only shuts down
        if self.monitor:
            self.monitor.sample()
        self._give()

    async def exited(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) for the kernel to exit, measure it a last time; whether it exited."""
        deadline = time.monotonic() + timeout
        while self.monitor and not self.monitor.exited() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self.monitor:
            self.monitor.sample()
        return bool(self.monitor and self.monitor.exited())

    def _give(self) -> None:
        if self._holding:
            self._holding = False
            self.slots.give()

    def _interrupt_if_stopping(self) -> None:
        """Called between samples: Ctrl-C for the kernel while stopping, until it ends; a kill after the grace."""
        if not self.stopping or self._pgid is None or not (self.monitor and self.monitor.running()):
            return  # never signal a group whose leader is gone: its id may be another's by now
        now = time.monotonic()
        self._stopping_since = self._stopping_since or now
        # A kernel between cells ignores SIGINT, so it is sent again until the run ends.
        grace = TERMINATED_GRACE if stopping.terminated() else STOP_GRACE
        sent = signal.SIGKILL if now - self._stopping_since > grace else signal.SIGINT
        try:
            os.killpg(self._pgid, sent)
        except OSError:  # already gone
            pass

    def close(self) -> Resources | None:
        self._give()
        return self.monitor.stop() if self.monitor else None


def manager_class(env: dict[str, str], log: Path, watch: Watch):
    """A kernel manager that starts the kernel with ``env`` added to this process's environment, watched.

    The kernel's own stderr (TensorFlow's C++ logging, a crash) goes to ``log`` in the run, not the terminal. Once
    started, the kernel is measured; when its cells are done it gives its slot back (in a sweep), and it is
    measured until it has exited. Its client is :func:`client_class`'s.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class RunKernelManager(AsyncKernelManager):
        @default("client_factory")
        def _client_factory_default(self):
            return client_class()

        async def start_kernel(self, **kw):
            kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            with open(log, "ab") as stream:
                started = await super().start_kernel(stdout=stream, stderr=stream, **kw)
            watch.started(self.provisioner.pid, getattr(self.provisioner, "pgid", None))
            return started

        async def shutdown_kernel(self, now: bool = False, restart: bool = False):
            watch.cells_done()
            now = now or stopping.terminated()  # SIGTERM: the 10 s before SIGKILL are not spent waiting on it
            if not (now or restart or watch.stopping):  # let it exit, and measure it to its last CPU second
                await self.request_shutdown()
                if await watch.exited(self.shutdown_wait_time):
                    await self.provisioner.wait()  # reap it now, rather than after jupyter_client's 0.1 s polls
                now = True  # it exited (or overstayed): what is left is to reap it, asking nothing more of it
            return await super().shutdown_kernel(now=now or watch.stopping, restart=restart)

    return RunKernelManager


@functools.cache
def client_class():
    """jupyter_client's kernel client, but its heartbeat's pings to a kernel that has exited are dropped when it closes.

    The heartbeat pings the kernel every second; once the kernel has exited, a ping goes unanswered and its socket
    is closed with the ping still queued, lingering a second to deliver it. Closing the client then waited for it:
    up to a second after every run, in which a sweep's last point had nothing else to do.
    """
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.channels import HBChannel
    from traitlets import Type

    class Heartbeat(HBChannel):
        def _create_socket(self) -> None:
            super()._create_socket()
            self.socket.linger = 0

    class Client(AsyncKernelClient):
        hb_channel_class = Type(Heartbeat)

    return Client
