"""Thread counts for a run: chosen from the container's CPU quota, recorded, and re-applied by ``kit verify``.

Results of TensorFlow (and of threaded BLAS reductions) depend on how many threads split the work, not on how
many CPUs run them: fixing the counts makes a run on one CPU give the bits of a run on eight. The counts reach
the kernel as environment variables, read by OpenMP, the BLAS libraries and TensorFlow when they load.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from kit.errors import KitError

#: Set it (or pass ``kit run --threads``) to choose the thread count instead of the CPU quota.
THREADS_ENV = "KIT_THREADS"

#: The variables each threaded library reads at load time, for its intra-op (per-operation) thread pool.
INTRA_OP_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
)
INTER_OP_VARIABLE = "TF_NUM_INTEROP_THREADS"


@dataclass(frozen=True)
class Threads:
    """The thread counts of a run and where they came from (``cpu-quota``, ``KIT_THREADS``, ``given``, ``record``)."""

    intra_op: int
    inter_op: int
    source: str

    def variables(self) -> dict[str, str]:
        """The environment that applies these counts in a kernel."""
        return {**{name: str(self.intra_op) for name in INTRA_OP_VARIABLES}, INTER_OP_VARIABLE: str(self.inter_op)}

    def to_dict(self) -> dict:
        return {**asdict(self), "variables": self.variables()}

    @classmethod
    def from_dict(cls, data: dict) -> Threads:
        return cls(int(data["intra_op"]), int(data["inter_op"]), "record")


def cpu_quota() -> float | None:
    """The container's CPU quota in CPUs (``docker run --cpus``), from cgroup v2 or v1; None when unlimited."""
    v2 = Path("/sys/fs/cgroup/cpu.max")
    try:
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
        else:
            v1 = Path("/sys/fs/cgroup/cpu")
            quota, period = ((v1 / name).read_text().strip() for name in ("cpu.cfs_quota_us", "cpu.cfs_period_us"))
    except (OSError, ValueError):
        return None
    if quota in ("max", "-1"):
        return None
    return int(quota) / int(period)


def usable_cpus() -> int:
    """CPUs this process may use: the smallest of the machine's, its affinity (taskset) and its quota."""
    import loky

    return loky.cpu_count(only_physical_cores=False)


def choose(threads: int | None = None) -> Threads:
    """The thread counts for a new run: ``threads`` if given, else ``$KIT_THREADS``, else the usable CPUs."""
    if threads is not None:
        return Threads(threads, threads, "given")
    from_env = os.environ.get(THREADS_ENV, "").strip()
    if from_env:
        try:
            count = int(from_env)
        except ValueError:
            raise KitError(f"{THREADS_ENV}={from_env!r} is not a whole number: set it to e.g. 2, or unset it") from None
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
