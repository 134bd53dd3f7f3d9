"""What a run used: CPU seconds and peak resident memory of its kernel and of every process the kernel started.

The kernel's process tree is sampled (psutil, which reads ``/proc`` on Linux) every :data:`INTERVAL` seconds by a
thread of the process that runs the notebook, and once more just before the kernel shuts down:

- CPU seconds, user and system, are each process's own plus those of the children it has waited for, summed over
  the tree: exact up to the last sample, the kernel's start-up included. The last sample is taken once the kernel
  has exited, before it is waited for, so its shutdown counts too (a kernel that imported pandas and scikit-learn
  spends half a second of CPU tearing them down).
- Peak memory is the largest sum of resident set sizes over the tree in any sample, and never less than the
  kernel's own high-water mark (``VmHWM``, which Linux keeps exactly): only a child's spike shorter than the
  interval can be missed.

``resource.getrusage`` cannot tell runs apart: it adds up all children of a process, and the runs of a sweep share
one process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from kit.record.schema import Resources

#: Seconds between two samples of the process tree.
INTERVAL = 0.2


def _high_water(pid: int) -> int:
    """The most resident memory process ``pid`` ever had, in bytes (Linux); 0 where the system does not say."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class Monitor:
    """Samples the process tree under ``pid`` until :meth:`stop`; ``tick`` is called after every sample."""

    def __init__(self, pid: int, interval: float = INTERVAL, tick: Callable[[], None] | None = None) -> None:
        import psutil

        self.pid, self.interval, self._tick = pid, interval, tick
        self.cpu_s, self.peak_rss_bytes = 0.0, 0
        self._lock, self._done = threading.Lock(), threading.Event()
        try:
            self._kernel = psutil.Process(pid)
        except psutil.Error:  # gone already: nothing to measure
            self._kernel = None
        self._thread = threading.Thread(target=self._loop, name=f"kit-monitor-{pid}", daemon=True)

    def start(self) -> Monitor:
        self.sample()
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()
            if self._tick:
                self._tick()

    def sample(self) -> None:
        """Add one look at the tree: CPU seconds so far, and its resident memory now.

        An exited kernel not yet waited for (a zombie) still tells its final CPU seconds, its exit included.
        """
        import psutil

        if self._kernel is None:
            return
        with self._lock:
            try:
                with self._kernel.oneshot():
                    times, exited = self._kernel.cpu_times(), self._kernel.status() == psutil.STATUS_ZOMBIE
                    memory = 0 if exited else self._kernel.memory_info().rss
                children = [] if exited else self._kernel.children(recursive=True)
            except psutil.Error:  # waited for and gone: the last sample stands
                return
            cpu = times.user + times.system + times.children_user + times.children_system
            for process in children:
                try:
                    with process.oneshot():
                        times, rss = process.cpu_times(), process.memory_info().rss
                except psutil.Error:  # exited between the listing and now: its parent has (or will) count it
                    continue
                cpu += times.user + times.system + times.children_user + times.children_system
                memory += rss
            self.cpu_s = max(self.cpu_s, cpu)
            self.peak_rss_bytes = max(self.peak_rss_bytes, memory, _high_water(self.pid))

    def running(self) -> bool:
        """Whether the kernel is still the process it was (not exited, its id not reused)."""
        import psutil

        try:
            return self._kernel is not None and self._kernel.is_running() and not self.exited()
        except psutil.Error:
            return False

    def exited(self) -> bool:
        """Whether the kernel has exited (a zombie, or already waited for)."""
        import psutil

        if self._kernel is None:
            return True
        try:
            return self._kernel.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            return True

    def stop(self) -> Resources:
        """Stop sampling (after one last sample, when the kernel is still there) and return what was measured."""
        if not self._done.is_set():
            self._done.set()
            self.sample()
            if self._thread.is_alive() and self._thread is not threading.current_thread():
                self._thread.join()
        return Resources(round(self.cpu_s, 3), self.peak_rss_bytes, self.interval)
