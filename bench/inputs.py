"""Input capture benchmark, run inside the image (`make bench` does): what recording a run's inputs costs.

A run whose notebook reads a CSV of KIT_BENCH_INPUT_MB megabytes (default 1024) with pandas, under ``kit run`` with
the input capture on (the audit hook, the file hashed once by a background thread) and with it off
(``KIT_CAPTURE_INPUTS=off``, the baseline), alternated KIT_BENCH_REPEAT times (default 3) so that load from
elsewhere hits both alike; medians of the whole command's wall time. Target (issue 19): a ratio under 1.05.
Also: the sha256 of the file alone, and a run opening 10,000 small files with the capture on and off.
Prints one figure per line and writes them to $KIT_BENCH_RESULTS_INPUTS (default bench/results/inputs.json).
"""

from __future__ import annotations

import hashlib
import json
import os
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


def seconds(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def on_and_off(work: Path, nb: Path) -> tuple[float, float]:
    """Median wall time of ``kit run`` with the capture on and off, alternated."""
    on, off = [], []
    base = {**os.environ, "KIT_RUNS_DIR": str(work / "runs")}
    for _ in range(REPEAT):
        command = ["kit", "run", str(nb), "--threads", "1"]
        off.append(seconds(command, work, {**base, "KIT_CAPTURE_INPUTS": "off"}))
        on.append(seconds(command, work, {**base, "KIT_CAPTURE_INPUTS": "on"}))
    return statistics.median(on), statistics.median(off)


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
        big = notebook(work / "big.ipynb", "import pandas\nframe = pandas.read_csv('data.csv')\nlen(frame)")
        big_on, big_off = on_and_off(work, big)
        many = work / "many"
        many.mkdir()
        for index in range(SMALL_FILES):
            (many / f"{index:05}.txt").write_text(str(index))
        source = f"n = sum(len(open(f'many/{{i:05}}.txt').read()) for i in range({SMALL_FILES}))"
        small = notebook(work / "small.ipynb", source)
        small_on, small_off = on_and_off(work, small)
    results = {
        "csv_mb": round(size_mb),
        "repeat": REPEAT,
        "sha256_alone_s": round(hash_s, 3),
        "csv_capture_on_s": round(big_on, 2),
        "csv_capture_off_s": round(big_off, 2),
        "csv_ratio": round(big_on / big_off, 3),
        "small_files": SMALL_FILES,
        "small_capture_on_s": round(small_on, 2),
        "small_capture_off_s": round(small_off, 2),
        "small_ratio": round(small_on / small_off, 3),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"sha256 of the {size_mb:.0f} MB CSV alone   {hash_s:.2f} s")
    print(f"kit run reading it with pandas, capture off {big_off:.2f} s, on {big_on:.2f} s (medians of {REPEAT}): "
          f"ratio {big_on / big_off:.3f} (target < 1.05)")  # fmt: skip
    print(f"kit run opening {SMALL_FILES} small files, capture off {small_off:.2f} s, on {small_on:.2f} s: "
          f"ratio {small_on / small_off:.3f}")  # fmt: skip
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
