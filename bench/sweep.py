"""kit sweep benchmark, run inside the image (`make bench` does): 8 points of train_tabular.ipynb (seeds 0-7).

Against what users do today, measured in the same run and on the same machine:
- sequential `papermill` calls, and `xargs -P 2 papermill` (two at a time);
- `kit sweep --workers 2`: target at least :data:`TARGET_XARGS` times faster than `xargs -P 2 papermill`, and at most
  :data:`TARGET_FLOOR` times the CPU-bound floor, the sum of the runs' CPU seconds (kit records them) divided by the
  usable CPUs;
- the Dask path on this machine (a scheduler and two single-threaded workers in this container): its overhead per
  point over the local pool, with the runs directory shared (``--dask-mode shared``) and without a shared disk
  (``--dask-mode ship``: each point's notebook goes to its worker and its record comes back through the scheduler);
- how the sweep's time scales with 1, 2 and 4 workers.
KIT_BENCH_SWEEP=dask measures only the Dask paths and the local pool beside them (a shorter run); the Dask figures
are reported either way.
Each configuration runs KIT_BENCH_REPEAT times (default 3), interleaved so that load from elsewhere hits all
alike; medians are reported, with the load average before and after (other work on the machine skews them).
Prints one figure per line and writes them to $KIT_BENCH_RESULTS (default bench/results/sweep.json).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("KIT_BENCH_RESULTS_SWEEP", ROOT / "bench/results/sweep.json"))
REPEAT = int(os.environ.get("KIT_BENCH_REPEAT", "3"))
ONLY_DASK = os.environ.get("KIT_BENCH_SWEEP") == "dask"
#: The targets: how much faster than `xargs -P 2 papermill`, how close to the CPU-bound floor (kit / floor).
TARGET_XARGS, TARGET_FLOOR = 1.25, 1.10
NOTEBOOK = ROOT / "notebooks" / "train_tabular.ipynb"
SEEDS = list(range(8))


def seconds(command: list[str] | str, cwd: Path, **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - start


def papermill(seed: int, work: Path) -> list[str]:
    return ["papermill", "--no-progress-bar", str(NOTEBOOK), str(work / f"out-{seed}.ipynb"), "-p", "seed", str(seed)]


def sequential(work: Path) -> float:
    start = time.perf_counter()
    for seed in SEEDS:
        subprocess.run(papermill(seed, work), cwd=work, check=True, capture_output=True)
    return time.perf_counter() - start


def xargs(work: Path) -> float:
    line = " ".join(papermill(0, work)[:-1]).replace("out-0", "out-{}")
    return seconds(f"printf '%s\\n' {' '.join(map(str, SEEDS))} | xargs -P 2 -I{{}} {line} {{}}", work, shell=True)


def sweep(work: Path, *extra: str) -> tuple[float, float]:
    """A kit sweep's wall seconds, and the CPU seconds its runs recorded (kernels and their children)."""
    runs = work / f"runs-{time.monotonic_ns()}"
    wall = seconds(["kit", "sweep", str(NOTEBOOK), "-p", "seed", ",".join(map(str, SEEDS)), "--runs-dir", str(runs),
                    *extra], work)  # fmt: skip
    record = json.loads(next((runs / "sweeps").glob("*/sweep.json")).read_text())
    cpu = 0.0
    for point in record["points"]:
        assert point["status"] == "succeeded", point
        cpu += json.loads((runs / point["runs"][-1] / "status.json").read_text())["resources"]["cpu_s"]
    shutil.rmtree(runs)
    return wall, cpu


class LocalCluster:
    """A Dask scheduler and two single-threaded workers in this container, for the Dask path on one machine."""

    def __enter__(self) -> str:
        self.address = "tcp://127.0.0.1:8786"
        self.processes = [subprocess.Popen(["dask", "scheduler", "--no-dashboard", "--port", "8786"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
        time.sleep(2)
        self.processes += [
            subprocess.Popen(
                ["dask", "worker", self.address, "--nthreads", "1", "--no-dashboard", "--no-nanny"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for _ in range(2)
        ]
        probe = (f"from distributed import Client; c = Client('{self.address}'); "
                 "c.wait_for_workers(2, timeout=60); c.close()")  # fmt: skip
        subprocess.run(["python", "-c", probe], check=True, capture_output=True)
        return self.address

    def __exit__(self, *exception) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a worker without a nanny may linger on its way out
                process.kill()
                process.wait()


def main() -> None:
    cpus = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()[0]
    figures: dict[str, list[float]] = {}

    def keep(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        seconds(["kit", "sweep", str(NOTEBOOK), "-p", "seed", "0", "--runs-dir", str(work / "warm")], work)  # caches
        for _ in range(0 if ONLY_DASK else REPEAT):
            keep("sequential_papermill_s", sequential(work))
            keep("xargs_p2_papermill_s", xargs(work))
            wall, cpu = sweep(work, "--workers", "2")
            keep("kit_sweep_w2_s", wall)
            keep("runs_cpu_s", cpu)
            keep("floor_s", cpu / cpus)
            keep("ratio_xargs_over_kit", figures["xargs_p2_papermill_s"][-1] / wall)
            keep("ratio_kit_over_floor", wall / (cpu / cpus))
            for workers in (1, 4):
                keep(f"kit_sweep_w{workers}_s", sweep(work, "--workers", str(workers))[0])
        with LocalCluster() as address:  # only now: its idle scheduler and workers use some CPU too
            for _ in range(REPEAT):
                keep("dask_w2_s", sweep(work, "--scheduler", address, "--dask-mode", "shared", "--threads", "1")[0])
                keep("dask_ship_w2_s", sweep(work, "--scheduler", address, "--dask-mode", "ship", "--threads", "1")[0])
                keep("local_w2_beside_dask_s", sweep(work, "--workers", "2", "--threads", "1")[0])
    results = {name: statistics.median(values) for name, values in figures.items()}
    results["dask_overhead_per_point_s"] = (results["dask_w2_s"] - results["local_w2_beside_dask_s"]) * 2 / len(SEEDS)
    results["dask_ship_overhead_per_point_s"] = (
        (results["dask_ship_w2_s"] - results["local_w2_beside_dask_s"]) * 2 / len(SEEDS)
    )
    results |= {"load_average": [load_before, os.getloadavg()[0]], "cpus": cpus, "points": len(SEEDS), "repeat": REPEAT}
    results["all"] = figures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    report(results, cpus)


def report(results: dict, cpus: int) -> None:
    print(f"8 points of train_tabular.ipynb on {cpus} CPUs, medians of {REPEAT} interleaved rounds, load average "
          f"{results['load_average'][0]:.1f} before and {results['load_average'][1]:.1f} after")  # fmt: skip
    if not ONLY_DASK:
        print(f"sequential papermill       {results['sequential_papermill_s']:.1f} s")
        print(f"xargs -P 2 papermill       {results['xargs_p2_papermill_s']:.1f} s")
        print(f"kit sweep --workers 2      {results['kit_sweep_w2_s']:.1f} s, complete records")
        print(f"  xargs / kit sweep        {results['ratio_xargs_over_kit']:.2f}x (target >= {TARGET_XARGS:.2f})")
        print(f"  CPU-bound floor          {results['floor_s']:.1f} s ({results['runs_cpu_s']:.1f} CPU s / {cpus})")
        print(f"  kit sweep / floor        {results['ratio_kit_over_floor']:.2f} (target <= {TARGET_FLOOR:.2f})")
    print(f"Dask, shared runs dir      {results['dask_w2_s']:.1f} s against {results['local_w2_beside_dask_s']:.1f} s "
          f"for the local pool beside it: {results['dask_overhead_per_point_s']:.2f} s more per point "
          "(worker-seconds)")  # fmt: skip
    print(f"Dask, no shared disk       {results['dask_ship_w2_s']:.1f} s: "
          f"{results['dask_ship_overhead_per_point_s']:.2f} s more per point than the local pool, "
          f"{results['dask_ship_w2_s'] / results['dask_w2_s']:.2f}x the shared-volume Dask path")  # fmt: skip
    if not ONLY_DASK:
        for workers in (1, 2, 4):
            spent = results[f"kit_sweep_w{workers}_s"]
            scaled = results["kit_sweep_w1_s"] / spent
            print(f"kit sweep --workers {workers}      {spent:.1f} s, {scaled:.2f}x of 1 worker")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
