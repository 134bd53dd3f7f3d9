"""What the production features of `kit serve` (issue 20) cost: this branch against a baseline kit, in one run.

Both serve the same trained diagnosis run in the kit image (one worker, host network, 127.0.0.1 only), the baseline
from another source tree (default: /work/main, i.e. main before the change), each loaded by wrk with single-row
requests at 1, 16 and 64 connections, then 1,000-row requests (JSON, and the binary tensor extension). Variants of
this branch: as is (batching on), --no-batching, with a token file, with an audit log; and the bare handler of
bench/serve.py (decode JSON, predict, encode: the practical ceiling), one uvicorn worker in the same image. Prints one
line per figure, its ratio to the baseline and, for the variants, to this branch as is (what a token or the audit
log costs); then issue 20's targets. All servers run at once and every figure is the median of KIT_BENCH_ROUNDS
rounds (default 3) of KIT_BENCH_SECONDS each (default 4), each round measuring every variant in turn, so that load
from elsewhere hits them alike. The figures move from run to run on a shared machine: compare the ratios.

    python bench/serve_hardened.py RUNS_DIR [BASELINE_SOURCE]     # RUNS_DIR holds a run `diagnosis`

``KIT_BENCH_SECONDS`` (default 8) is the length of each wrk run: 2 checks that it all runs.
"""

from __future__ import annotations

import csv
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]
from serve import BARE  # noqa: E402

KIT_IMAGE = os.environ.get("KIT_IMAGE", "kit:latest")
SECONDS = int(os.environ.get("KIT_BENCH_SECONDS", "4"))
#: Every figure is the median of this many rounds, each round measuring every variant once.
ROUNDS = int(os.environ.get("KIT_BENCH_ROUNDS", "3"))
TOKEN = "bench-token-0123456789abcdef"


def wrk(url: str, body: Path, connections: int, headers: dict[str, str]) -> dict:
    script = body.with_suffix(f".{len(headers)}.lua")
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    lines += [f'local f = io.open("{body}", "rb")', 'wrk.body = f:read("*a")', "f:close()"]
    script.write_text("\n".join(lines) + "\n")
    threads = min(2, connections)
    output = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{SECONDS}s", "--latency", "-s",
                             str(script), url], capture_output=True, text=True, check=True).stdout  # fmt: skip

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), "p50_ms": ms("50%"),
            "p99_ms": ms("99%"), "errors": int(errors.group(1)) if errors else 0}  # fmt: skip


def median_of(figures: list[dict]) -> dict:
    """Each figure's median over the rounds (the errors: their sum)."""
    middle = {key: statistics.median(found[key] for found in figures) for key in ("rps", "p50_ms", "p99_ms")}
    return {**middle, "errors": sum(found["errors"] for found in figures)}


def bodies(run: Path, work: Path) -> dict[str, tuple[Path, dict]]:
    with open(run / "artifacts/heldout.csv") as file:
        reader = csv.reader(file)
        features = next(reader)[:-1]
        rows = [[float(value) for value in row[:-1]] for row in reader]
    thousand = (rows * 8)[:1000]

    def v2(data):
        return {"inputs": [{"name": name, "datatype": "FP64", "shape": [len(data)], "data": [row[i] for row in data]}
                           for i, name in enumerate(features)]}  # fmt: skip

    binary_inputs = [{"name": name, "datatype": "FP64", "shape": [1000], "parameters": {"binary_data_size": 8000}}
                     for name in features]  # fmt: skip
    header = json.dumps({"inputs": binary_inputs}).encode()
    raw = b"".join(struct.pack("<1000d", *(row[i] for row in thousand)) for i in range(len(features)))
    found = {}
    cases = (
        ("one", json.dumps(v2(rows[:1])).encode(), {}),
        ("thousand", json.dumps(v2(thousand)).encode(), {}),
        ("binary", header + raw, {"Inference-Header-Content-Length": str(len(header))}),
    )
    for name, body, extra in cases:
        (work / f"{name}.body").write_bytes(body)
        found[name] = (work / f"{name}.body", extra)
    return found


def start(name: str, source: Path, runs: Path, work: Path, port: int, *options: str) -> str:
    if source is None:  # the bare handler: one uvicorn worker, as kit serve runs one here
        command = ["uvicorn", "bare:app", "--app-dir", "/work", "--port", str(port), "--http", "httptools", "--loop",
                   "uvloop", "--no-access-log", "--log-level", "warning"]  # fmt: skip
        source, ready = ROOT, "/"
    else:
        command, ready = ["kit", "serve", "/runs/diagnosis", "--port", str(port), *options], "/v2/health/ready"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    subprocess.run(["docker", "run", "-d", "--name", name, "--network", "host", "-v", f"{source}:/src:ro",
                    "-e", "PYTHONPATH=/src", "-v", f"{runs}:/runs:ro", "-v", f"{work}:/work", KIT_IMAGE, *command],
                   check=True, capture_output=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            with urllib.request.urlopen(f"{url}{ready}", timeout=2) as response:
                if response.status == 200:
                    return url
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{name} did not become ready: {subprocess.run(['docker', 'logs', name], capture_output=True)}")


def main() -> None:
    runs = Path(sys.argv[1]).resolve()
    baseline = Path(sys.argv[2] if len(sys.argv) > 2 else "/work/main").resolve()
    work = Path(tempfile.mkdtemp(prefix="server-bench-"))
    work.chmod(0o777)
    (work / "tokens").write_text(TOKEN + "\n")
    (work / "tokens").chmod(0o644)
    found = bodies(runs / "diagnosis", work)
    (work / "bare.py").write_text(BARE.format(model="/runs/diagnosis/artifacts/model.skops"))
    variants = {
        "bare": (None, [], {}),
        "baseline": (baseline, [], {}),
        "branch": (ROOT, [], {}),
        "no-batching": (ROOT, ["--no-batching"], {}),
        "token": (ROOT, ["--token-file", "/work/tokens"], {"Authorization": f"Bearer {TOKEN}"}),
        "audit": (ROOT, ["--audit-log", "/work/audit.jsonl"], {}),
    }
    urls = {}
    try:
        for port, (variant, (source, options, _)) in enumerate(variants.items(), start=18601):
            path = "/" if source is None else "/v2/models/train_tabular/infer"
            urls[variant] = start(f"server-bench-{variant}", source, runs, work, port, *options) + path
        cases = [(f"1 row c{connections}", found["one"][0], connections) for connections in (1, 16, 64)]
        runs_of: dict[str, list[dict]] = {}
        for _ in range(ROUNDS):  # every variant once per round: load from elsewhere hits them alike
            for case, body, connections in cases:
                for variant, (_, _, headers) in variants.items():
                    runs_of.setdefault(f"{variant} {case}", []).append(wrk(urls[variant], body, connections, headers))
            for variant, body, extra in (("baseline", *found["thousand"]), ("branch", *found["thousand"]),
                                         ("branch", *found["binary"])):  # fmt: skip
                case = "1000 rows binary c4" if extra else "1000 rows c4"
                runs_of.setdefault(f"{variant} {case}", []).append(wrk(urls[variant], body, 4, extra))
    finally:
        for variant in variants:
            subprocess.run(["docker", "rm", "-f", f"server-bench-{variant}"], capture_output=True)
    results = {key: median_of(figures) for key, figures in runs_of.items()}
    for key, figures in results.items():
        variant, _, case = key.partition(" ")
        base = results.get(f"baseline {case}") or results.get("baseline 1000 rows c4")
        ratio = figures["rps"] / base["rps"] if base else float("nan")
        branch = results.get(f"branch {case}") if variant not in ("baseline", "branch") else None
        versus = f"  x{figures['rps'] / branch['rps']:.2f} of branch" if branch else ""
        print(f"{key:32s} {figures['rps']:9.0f} req/s  p50 {figures['p50_ms']:7.2f} ms  p99 {figures['p99_ms']:7.2f} ms"
              f"  errors {figures['errors']:5d}  x{ratio:.2f} of baseline{versus}")  # fmt: skip
    for line in targets(results):
        print(line)
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(f"results: {work / 'results.json'}")


def targets(results: dict) -> list[str]:
    """Issue 20's targets, each with its figures and whether this run met it."""

    def rps(key: str) -> float:
        return results[key]["rps"]

    checks = [
        ("64 connections: >= 1.5x the baseline's throughput", rps("branch 1 row c64") / rps("baseline 1 row c64"),
         1.5, ">="),
        ("64 connections: above the bare handler", rps("branch 1 row c64") / rps("bare 1 row c64"), 1.0, ">"),
        ("64 connections: p99 under 15 ms", results["branch 1 row c64"]["p99_ms"], 15, "<"),
        ("16 connections: p99 under 10 ms", results["branch 1 row c16"]["p99_ms"], 10, "<"),
        ("1 connection: p50 latency within 1.1x the baseline's",
         results["branch 1 row c1"]["p50_ms"] / results["baseline 1 row c1"]["p50_ms"], 1.1, "<="),
        *((f"{variant}: costs under 10 % of throughput at 16 connections",
           1 - rps(f"{variant} 1 row c16") / rps("branch 1 row c16"), 0.10, "<") for variant in ("token", "audit")),
    ]  # fmt: skip
    meets = {">=": float.__ge__, ">": float.__gt__, "<": float.__lt__, "<=": float.__le__}
    lines = [
        f"target  {name:58s} {float(value):8.3f} (target {sign} {limit}): "
        f"{'met' if meets[sign](float(value), float(limit)) else 'NOT met'}"
        for name, value, limit, sign in checks
    ]
    binary, text = rps("branch 1000 rows binary c4") * 1000, rps("branch 1000 rows c4") * 1000
    return [
        *lines,
        f"1,000-row requests: binary tensors {binary:,.0f} rows/s, JSON {text:,.0f} rows/s (x{binary / text:.2f})",
    ]


if __name__ == "__main__":
    main()
