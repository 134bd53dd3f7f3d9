"""kit benchmarks, run inside the image (`make bench` does): start-up of the command, and run overhead.

Targets (issue 3): `kit --help` under 0.3 s; `kit run` on a one-cell notebook within 10 % of bare `papermill`
on the same notebook. Issue 4: each notebook with its defaults under 60 s, kernel start included.
Also measured: bit-for-bit reproduction needs fixed thread counts (a CNN trained with
1 and with 2 intra-op threads gives different weights; the same count on 1 or 2 CPUs gives the same).
Prints one figure per line and writes them to $KIT_BENCH_RESULTS (default bench/results/kit.json).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("KIT_BENCH_RESULTS", ROOT / "bench/results/kit.json"))
REPEAT = int(os.environ.get("KIT_BENCH_REPEAT", "7"))

TRAIN = """\
import kit
kit.seed_everything(0)
import keras
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                          keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(X.reshape(-1, 8, 8, 1) / 16, y, epochs=3, batch_size=32, verbose=0)
kit.save_model(model, "cnn")
"""


def seconds(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)
    return path


def run_overhead(work: Path) -> dict:
    """Median of bare papermill and kit run on one one-cell notebook, alternated so drift hits both."""
    one = notebook(work / "one.ipynb", "1 + 1")
    bare, kit = [], []
    for index in range(REPEAT):
        bare.append(seconds(["papermill", "--no-progress-bar", str(one), str(work / f"out{index}.ipynb")], work))
        kit.append(seconds(["kit", "run", str(one), "--runs-dir", str(work / "runs")], work))
    return {"papermill_s": statistics.median(bare), "kit_run_s": statistics.median(kit),
            "ratio": statistics.median(kit) / statistics.median(bare)}  # fmt: skip


def threads_matter(work: Path) -> dict:
    """Content hash of the trained CNN for (threads, CPUs): which settings give the same bits."""
    train = notebook(work / "train.ipynb", TRAIN)
    hashes = {}
    for threads, cpus in ((2, "0,1"), (2, "0"), (1, "0")):
        command = ["taskset", "-c", cpus, "kit", "run", str(train), "--threads", str(threads),
                   "--runs-dir", str(work / "runs")]  # fmt: skip
        run = subprocess.run(command, cwd=work, check=True, capture_output=True, text=True).stdout.split()[-1]
        manifest = json.loads((Path(run) / "manifest.json").read_text())
        hashes[f"{threads} threads on cpus {cpus}"] = manifest["cnn.keras"]["content_sha256"][:16]
    return hashes


def notebook_seconds(work: Path) -> dict:
    """`kit run` of each bundled notebook with its defaults, start to finish; median of three."""
    times = {}
    for name in ("train_tabular", "train_images", "predict"):
        command = ["kit", "run", str(ROOT / "notebooks" / f"{name}.ipynb"), "--runs-dir", str(work / "runs")]
        times[name] = statistics.median(seconds(command, work) for _ in range(3))
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        help_s = statistics.median(seconds(["kit", "--help"], work) for _ in range(REPEAT))
        import_s = statistics.median(seconds([sys.executable, "-c", "import kit"], work) for _ in range(REPEAT))
        results = {"kit_help_s": help_s, "import_kit_s": import_s, **run_overhead(work)}
        results["cnn_hash_by_threads"] = threads_matter(work)
        results["notebook_s"] = notebook_seconds(work)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"kit --help             {help_s:.3f} s median of {REPEAT} (target < 0.3 s)")
    print(f"python -c 'import kit' {import_s:.3f} s")
    print(f"bare papermill         {results['papermill_s']:.2f} s median, one-cell notebook")
    print(f"kit run                {results['kit_run_s']:.2f} s median, ratio {results['ratio']:.3f} (target <= 1.10)")
    for setting, digest in results["cnn_hash_by_threads"].items():
        print(f"cnn content hash, {setting:<22} {digest}")
    for name, spent in results["notebook_s"].items():
        print(f"kit run {name + '.ipynb':<20} {spent:.1f} s median of 3, defaults (target < 60 s)")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
