"""Input capture benchmark, run inside the image (`make bench` does): what recording a run's inputs costs.

A run whose notebook reads a CSV of KIT_BENCH_INPUT_MB megabytes (default 1024) with pandas, under ``kit run`` with
the input capture on (the audit hook; the file, being large, hashed once by ``kit run``'s own process at the lowest
priority while the kernel parses it) and with it off (``KIT_CAPTURE_INPUTS=off``, the baseline), alternated
KIT_BENCH_REPEAT times (default 3) so that load from elsewhere hits both alike; medians of the whole command's wall
time (the baseline's ratio is 1), of the kernel's CPU seconds (status.json's resources) and of the whole run's CPU
seconds (``kit run`` and its kernel: the hashing is in it). Target (issue 19): a wall-time ratio under 1.05.
Also: the sha256 of the file alone, and a run opening 10,000 small files (each hashed by the kernel as it is
opened) with the capture on and off.
Prints one figure per line and writes them to $KIT_BENCH_RESULTS_INPUTS (default bench/results/inputs.json).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("KIT_BENCH_RESULTS_INPUTS", ROOT / "bench/results/inputs.json"))
REPEAT = int(os.environ.get("KIT_BENCH_REPEAT", "3"))
MEGABYTES = int(os.environ.get("KIT_BENCH_INPUT_MB", "1024"))
SMALL_FILES = 10_000


def notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)
    return path


def write_csv(path: Path, megabytes: int) -> None:
    """Numeric rows (an id, eight floats, a label) until the file holds ``megabytes``."""
    row = "".join(f"{index},{index * 0.37 % 1:.6f},{index * 1.1:.3f},{index % 97 / 7:.5f},{index * 3.3 % 11:.4f},"
                  f"{index % 13 * 0.5:.2f},{index * 0.001:.6f},{index % 7 * 1.25:.3f},{index % 5 / 3:.6f},"
                  f"{index % 2}\n" for index in range(10_000))  # fmt: skip
    block = row.encode()
    with open(path, "wb") as file:
        file.write(b"id,a,b,c,d,e,f,g,h,label\n")
        for _ in range(max(1, (megabytes << 20) // len(block))):
            file.write(block)


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def seconds(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds of ``kit run``, the CPU seconds its kernel used (as status.json records them), and all it used."""
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    status = json.loads((cwd / done.stdout.strip().splitlines()[-1] / "status.json").read_text())
    return wall, status["resources"]["cpu_s"], cpu


def on_and_off(work: Path, nb: Path) -> dict[str, float]:
    """Medians of ``kit run``'s wall time, its kernel's and its whole CPU seconds, capture on and off, alternated."""
    runs: dict[str, list[tuple[float, float, float]]] = {"on": [], "off": []}
    base = {**os.environ, "KIT_RUNS_DIR": str(work / "runs")}
    for _ in range(REPEAT):
        for setting in ("off", "on"):
            command = ["kit", "run", str(nb), "--threads", "1"]
            runs[setting].append(seconds(command, work, {**base, "KIT_CAPTURE_INPUTS": setting}))
    return {
        f"{what}_{setting}_s": round(statistics.median(run[index] for run in runs[setting]), 2)
        for setting in ("on", "off")
        for index, what in enumerate(("wall", "cpu", "run_cpu"))
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="inputs-bench-") as folder:
        work = Path(folder)
        data = work / "data.csv"
        write_csv(data, MEGABYTES)
        size_mb = data.stat().st_size / (1 << 20)
        start = time.perf_counter()
        with open(data, "rb") as file:
            hashlib.file_digest(file, "sha256")
        hash_s = time.perf_counter() - start
        big = on_and_off(work, notebook(work / "big.ipynb", "import pandas\nframe = pandas.read_csv('data.csv')"))
        many = work / "many"
        many.mkdir()
        for index in range(SMALL_FILES):
            (many / f"{index:05}.txt").write_text(str(index))
        source = f"n = sum(len(open(f'many/{{i:05}}.txt').read()) for i in range({SMALL_FILES}))"
        small = on_and_off(work, notebook(work / "small.ipynb", source))
    for figures in (big, small):
        figures["wall_ratio"] = round(figures["wall_on_s"] / figures["wall_off_s"], 3)
        figures["cpu_ratio"] = round(figures["cpu_on_s"] / figures["cpu_off_s"], 3)
        figures["run_cpu_ratio"] = round(figures["run_cpu_on_s"] / figures["run_cpu_off_s"], 3)
    load = os.getloadavg()[0]
    results = {"csv_mb": round(size_mb), "repeat": REPEAT, "sha256_alone_s": round(hash_s, 3), "csv": big,
               "small_files": SMALL_FILES, "small": small, "load_average": load}  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"sha256 of the {size_mb:.0f} MB CSV alone   {hash_s:.2f} s (load average {load:.1f})")
    for name, figures in ((f"reading the {size_mb:.0f} MB CSV with pandas", big),
                          (f"opening {SMALL_FILES} small files", small)):  # fmt: skip
        print(f"kit run {name}, capture off -> on (medians of {REPEAT}): "
              f"wall {figures['wall_off_s']:.2f} -> {figures['wall_on_s']:.2f} s, ratio {figures['wall_ratio']:.3f}; "
              f"kernel CPU {figures['cpu_off_s']:.2f} -> {figures['cpu_on_s']:.2f} s, "
              f"ratio {figures['cpu_ratio']:.3f}; "
              f"run CPU {figures['run_cpu_off_s']:.2f} -> {figures['run_cpu_on_s']:.2f} s, "
              f"ratio {figures['run_cpu_ratio']:.3f}"
              + (" (target < 1.05)" if figures is big else ""))  # fmt: skip
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
