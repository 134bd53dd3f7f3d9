"""Thread counts for a run: chosen from the container's CPU quota, recorded, and re-applied by ``kit verify``.

The counts reach the kernel as environment variables, read by OpenMP, the BLAS libraries and TensorFlow when
they load (see :class:`kit.record.schema.Threads`).
"""

from __future__ import annotations

import os
from pathlib import Path

from kit.errors import OptionError
from kit.record.schema import Threads
from kit.settings import THREADS_ENV
from kit.shorten import shown

#: More threads than this is a typo, not a machine.
MAX_THREADS = 4096


def cpu_quota() -> float | None:
    """The container's CPU quota in CPUs (``docker run --cpus``), from cgroup v2 or v1; None when unlimited."""
    v2 = Path("/sys/fs/cgroup/cpu.max")
    try:
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
        else:
            v1 = Path("/sys/fs/cgroup/cpu")
            quota, period = ((v1 / name).read_text().strip() for name in ("cpu.cfs_quota_us", "cpu.cfs_period_us"))
        if quota in ("max", "-1"):
            return None
        return int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def usable_cpus() -> int:
    """CPUs this process may use: the smallest of the machine's, its affinity (taskset) and its quota."""
    import loky

    return loky.cpu_count(only_physical_cores=False)


def _count(value: object, source: str, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_THREADS:
        raise OptionError(
            "threads", f"{source} must be a whole number from 1 to {MAX_THREADS}, not {shown(value)}: {fix}"
        )
    return value


def choose(threads: int | None = None) -> Threads:
    """The thread counts for a new run: ``threads`` if given, else ``$KIT_THREADS``, else the usable CPUs."""
    if threads is not None:
        count = _count(threads, "--threads", "e.g. --threads 2")
        return Threads(count, count, "given")
    from_env = os.environ.get(THREADS_ENV, "").strip()
    if from_env:
        try:
            value: object = int(from_env)
        except ValueError:
            value = from_env
        count = _count(value, THREADS_ENV, "set it to e.g. 2, or unset it")
        return Threads(count, count, THREADS_ENV)
    count = usable_cpus()
    return Threads(count, count, "cpu-quota")


def cpu_report() -> dict:
    """CPU facts for the environment record."""
    return {
        "machine": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "quota": cpu_quota(),
        "usable": usable_cpus(),
    }
