"""Serving benchmarks: `kit serve` against MLflow's `mlflow models serve` and a bare ASGI handler, in one run.

The same model (the default diagnosis pipeline of notebooks/train_tabular.ipynb, trained here in the kit image),
the same machine, single-row requests from wrk with 16 connections, two server processes each. Targets (issue 10):
at least 10x MLflow's throughput, p99 under 10 ms, within 70 % of the bare handler (a handler that only decodes
JSON and calls predict: the practical ceiling). Also: rows/s for 1,000-row requests, the model image's size,
container start to ready, and the model image under `kit deploy`'s limits (500m CPU, 512 Mi, no swap): its
requests/s, and the largest body it survives at 8 concurrent requests (each answered 200, or 503 with Retry-After,
and the container neither OOM-killed nor restarted).

Everything runs on the host (Python 3.11, like the images): kit from wheelhouse/serve (the model image's lock),
MLflow from PyPI into a venv of its own (mlflow-skinny, pandas, skops, the lock's scikit-learn). Needs `wrk`
(Debian's) and network access to PyPI for MLflow. Prints one figure per line; writes bench/results/serve.json.
``KIT_BENCH_SECONDS`` (default 10) is the length of each wrk run: 2 checks that it all runs.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools")]
from imagebuild import lock  # noqa: E402

KIT_IMAGE = os.environ.get("KIT_IMAGE", "kit:latest")
RESULTS = ROOT / "bench/results/serve.json"
SECONDS = int(os.environ.get("KIT_BENCH_SECONDS", "10"))
WORKERS = 2
CONNECTIONS = 16
#: `kit deploy`'s defaults (kit/cli/serve.py): the model image is measured under them.
DEPLOY_LIMITS = ["--cpus", "0.5", "--memory", "512m", "--memory-swap", "512m"]
CONCURRENT = 8
#: Body sizes tried at 8 concurrent requests, up to the server's 16 MB body limit.
BODY_MB = (1, 2, 4, 8, 12, 15.5)

BARE = """
import json, numpy, skops.io
path = "{model}"
model = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["method"] == "GET":  # readiness
        await send({{"type": "http.response.start", "status": 200, "headers": []}})
        await send({{"type": "http.response.body", "body": b"ok"}})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    request = json.loads(body)
    rows = numpy.array([item["data"] for item in request["inputs"]], dtype=float).T
    answer = json.dumps({{"outputs": [{{"name": "label", "data": model.predict(rows).tolist()}}]}}).encode()
    await send({{"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}})
    await send({{"type": "http.response.body", "body": answer}})
"""


def run(command: list, **kwargs) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs).stdout


def environment(folder: Path, *install: str, index: bool) -> Path:
    venv.create(folder, with_pip=True)
    source = ["--index-url", lock.PYPI] if index else ["--no-index"]
    # PyPI only (the host's pip settings may add local indexes), but the host's proxy and certificates.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_") or key == "PIP_CERT"}
    env["PIP_CONFIG_FILE"] = os.devnull
    run([str(folder / "bin/pip"), "install", "--quiet", "--disable-pip-version-check", *source, *install], env=env)
    return folder


def wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def wrk(url: str, body: Path, seconds: int = SECONDS, connections: int = CONNECTIONS) -> dict:
    script = body.with_suffix(".lua")
    script.write_text(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f'local f = io.open("{body}", "r")\nwrk.body = f:read("*a")\nf:close()\n')  # fmt: skip
    output = run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url])

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "errors": int(errors.group(1)) if errors else 0,
    }


class Server:
    """A server process, ready when its URL answers; stopped on exit."""

    def __init__(self, command: list[str], ready: str, env: dict | None = None, cwd: Path | None = None) -> None:
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)
        wait_ready(ready)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.log.seek(0)
            said = self.log.read()[-2000:].decode()
            raise SystemExit(f"{self.process.args[0]} did not stop on SIGTERM:\n{said}") from None


def train(work: Path) -> Path:
    runs = work / "runs"
    runs.mkdir(mode=0o777)
    runs.chmod(0o777)
    run(["docker", "run", "--rm", "-v", f"{runs}:/runs", "-e", "KIT_RUNS_DIR=/runs", KIT_IMAGE, "kit", "run",
         "notebooks/train_tabular.ipynb", "--run-id", "diagnosis"])  # fmt: skip
    return runs / "diagnosis"


def bodies(run_dir: Path, work: Path) -> dict[str, Path]:
    with open(run_dir / "artifacts/heldout.csv") as file:
        reader = csv.reader(file)
        features = next(reader)[:-1]
        rows = [[float(value) for value in row[:-1]] for row in reader]
    thousand = (rows * 8)[:1000]

    def v2(data):
        return {"inputs": [{"name": name, "datatype": "FP64", "shape": [len(data)], "data": [row[i] for row in data]}
                           for i, name in enumerate(features)]}  # fmt: skip

    found = {
        "kit": v2(rows[:1]),
        "kit_1000": v2(thousand),
        "mlflow": {"dataframe_split": {"columns": features, "data": rows[:1]}},
        "mlflow_1000": {"dataframe_split": {"columns": features, "data": thousand}},
    }
    paths = {}
    for name, body in found.items():
        paths[name] = work / f"{name}.json"
        paths[name].write_text(json.dumps(body))
    return paths


def sized_body(run_dir: Path, megabytes: float) -> bytes:
    """An inference request of about ``megabytes`` (whole held-out rows repeated), under it."""
    with open(run_dir / "artifacts/heldout.csv") as file:
        reader = csv.reader(file)
        features = next(reader)[:-1]
        rows = [[float(value) for value in row[:-1]] for row in reader]

    def v2(data):
        inputs = [{"name": name, "datatype": "FP64", "shape": [len(data)], "data": [row[i] for row in data]}
                  for i, name in enumerate(features)]  # fmt: skip
        return json.dumps({"inputs": inputs}).encode()

    limit = int(megabytes * (1 << 20))
    return v2(rows * max(1, limit // len(v2(rows)) - 1))


def send(port: int, body: bytes) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/v2/models/train_tabular/infer", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After")
    except OSError as error:  # the server died under it
        return 0, type(error).__name__
    finally:
        connection.close()


def deploy_limits(tag: str, run_dir: Path, body: Path) -> dict:
    """The model image under kit deploy's limits: single-row requests/s; the largest body 8 requests survive."""
    container = run(["docker", "run", "-d", *DEPLOY_LIMITS, "-p", "127.0.0.1::8080", tag]).strip()
    try:
        port = int(run(["docker", "port", container, "8080/tcp"]).strip().rsplit(":", 1)[1])
        wait_ready(f"http://127.0.0.1:{port}/v2/health/ready")
        single = wrk(f"http://127.0.0.1:{port}/v2/models/train_tabular/infer", body)
        survived, tries = 0.0, []
        for megabytes in BODY_MB:
            payload = sized_body(run_dir, megabytes)
            with ThreadPoolExecutor(CONCURRENT) as pool:
                answers = list(pool.map(send, [port] * CONCURRENT, [payload] * CONCURRENT))
            state = json.loads(run(["docker", "inspect", container, "--format", "{{json .State}}"]))
            alive = state["Running"] and not state["OOMKilled"]
            answered = all(status == 200 or (status == 503 and retry == "1") for status, retry in answers)
            statuses = [status for status, _ in answers]
            tries.append({"body_mb": round(len(payload) / (1 << 20), 2), "answered_200": statuses.count(200),
                          "answered_503": statuses.count(503), "alive": alive})  # fmt: skip
            if not (alive and answered):
                break
            survived = len(payload) / (1 << 20)
        peak = subprocess.run(["docker", "exec", container, "cat", "/sys/fs/cgroup/memory.peak"], capture_output=True,
                              text=True).stdout.strip()  # fmt: skip
    finally:
        run(["docker", "rm", "-f", container])
    every = [item["body_mb"] for item in tries if item["alive"] and item["answered_200"] == CONCURRENT]
    return {**single, "largest_body_mb_survived": survived, "largest_body_mb_all_200": max(every, default=0.0),
            "tries": tries, "peak_memory_mb": int(peak) / (1 << 20) if peak.isdigit() else None}  # fmt: skip


def model_image(run_dir: Path, body: Path) -> dict:
    tag = "kit-bench-model:diagnosis"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
    run([sys.executable, "-m", "imagebuild", "model", "--run", str(run_dir), "--image", tag], env=env, cwd=ROOT)
    size = int(run(["docker", "image", "inspect", tag, "--format", "{{.Size}}"]))
    starts = []
    for _ in range(5):
        started = time.perf_counter()
        container = run(["docker", "run", "-d", "-p", "127.0.0.1::8080", tag]).strip()
        port = run(["docker", "port", container, "8080/tcp"]).strip().rsplit(":", 1)[1]
        wait_ready(f"http://127.0.0.1:{port}/v2/health/ready")
        starts.append(time.perf_counter() - started)
        run(["docker", "rm", "-f", container])
    limited = deploy_limits(tag, run_dir, body)
    run(["docker", "rmi", tag])
    return {"size_mb": size / 1e6, "start_to_ready_s": statistics.median(starts), "deploy_limits": limited}


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="kit-bench-serve-") as folder:
        work = Path(folder)
        run_dir = train(work)
        body = bodies(run_dir, work)
        wheels = str(ROOT / "wheelhouse/serve")
        kit = environment(work / "kit-venv", "--require-hashes", "--no-deps", "--find-links", wheels,
                          "--requirement", str(ROOT / "requirements/serve.lock"), index=False)  # fmt: skip
        run([str(kit / "bin/pip"), "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation", str(ROOT)])
        sklearn = lock.read("serve")["scikit-learn"].version
        mlflow = environment(work / "mlflow-venv", "mlflow-skinny", "pandas", "skops", f"scikit-learn=={sklearn}",
                             index=True)  # fmt: skip
        model = run_dir / "artifacts/model.skops"
        run([str(mlflow / "bin/python"), "-c", "import sys, skops.io, mlflow.sklearn; p = sys.argv[1]; "
             "mlflow.sklearn.save_model(skops.io.load(p, trusted=skops.io.get_untrusted_types(file=p)), sys.argv[2])",
             str(model), str(work / "mlflow-model")])  # fmt: skip
        (work / "bare.py").write_text(BARE.format(model=model))
        results = {}
        env = {"PATH": f"{kit / 'bin'}:/usr/bin:/bin", "HOME": str(work)}
        kit_serve = [str(kit / "bin/kit"), "serve", str(run_dir), "--port", "8071", "--workers", str(WORKERS)]
        with Server(kit_serve, "http://127.0.0.1:8071/v2/health/ready", env=env):
            url = "http://127.0.0.1:8071/v2/models/train_tabular/infer"
            results["kit"] = wrk(url, body["kit"])
            results["kit_1000_rows"] = wrk(url, body["kit_1000"])
        bare = [str(kit / "bin/uvicorn"), "bare:app", "--port", "8072", "--workers", str(WORKERS), "--http",
                "httptools",
                "--loop", "uvloop", "--no-access-log", "--log-level", "warning"]  # fmt: skip
        with Server(bare, "http://127.0.0.1:8072/", env=env, cwd=work):
            results["bare"] = wrk("http://127.0.0.1:8072/", body["kit"])
        mlflow_serve = [str(mlflow / "bin/mlflow"), "models", "serve", "-m", str(work / "mlflow-model"),
                        "--env-manager", "local", "-w", str(WORKERS), "-p", "8073"]  # fmt: skip
        ml_env = {"PATH": f"{mlflow / 'bin'}:/usr/bin:/bin", "HOME": str(work)}
        with Server(mlflow_serve, "http://127.0.0.1:8073/ping", env=ml_env):
            results["mlflow"] = wrk("http://127.0.0.1:8073/invocations", body["mlflow"])
            results["mlflow_1000_rows"] = wrk("http://127.0.0.1:8073/invocations", body["mlflow_1000"])
        results["model_image"] = model_image(run_dir, body["kit"])
    kit, bare, mlflow = results["kit"], results["bare"], results["mlflow"]
    results["ratios"] = {
        "kit_over_mlflow": kit["requests_per_s"] / mlflow["requests_per_s"],
        "kit_over_bare": kit["requests_per_s"] / bare["requests_per_s"],
        "kit_1000_rows_per_s": results["kit_1000_rows"]["requests_per_s"] * 1000,
        "mlflow_1000_rows_per_s": results["mlflow_1000_rows"]["requests_per_s"] * 1000,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("kit", "bare", "mlflow"):
        figures = results[name]
        print(f"{name:<7} {figures['requests_per_s']:8.0f} requests/s  p50 {figures['p50_ms']:6.2f} ms  "
              f"p99 {figures['p99_ms']:6.2f} ms  errors {figures['errors']}  (1 row, {CONNECTIONS} connections, "
              f"{WORKERS} workers)")  # fmt: skip
    ratios = results["ratios"]
    print(f"kit / mlflow throughput {ratios['kit_over_mlflow']:.1f}x (target >= 10x)")
    print(
        f"kit / bare handler      {ratios['kit_over_bare']:.2f} (target >= 0.70); kit p99 {kit['p99_ms']:.2f} ms (< 10)"
    )
    print(
        f"1,000-row requests: kit {ratios['kit_1000_rows_per_s']:,.0f} rows/s, "
        f"mlflow {ratios['mlflow_1000_rows_per_s']:,.0f} rows/s"
    )
    image = results["model_image"]
    print(f"model image {image['size_mb']:.0f} MB (MLflow build-docker: about 1,000 MB slimmed, 3,000 before); "
          f"start to ready {image['start_to_ready_s']:.2f} s median of 5 (target < 2 s)")  # fmt: skip
    limited = image["deploy_limits"]
    largest, all_200 = limited["largest_body_mb_survived"], limited["largest_body_mb_all_200"]
    print(f"model image under kit deploy's limits (500m CPU, 512 Mi): {limited['requests_per_s']:.0f} requests/s "
          f"(1 row, {CONNECTIONS} connections), p99 {limited['p99_ms']:.2f} ms; largest body survived at "
          f"{CONCURRENT} concurrent requests {largest:.1f} MB (all {CONCURRENT} answered 200 up to {all_200:.1f} MB, "
          f"the others 503 with Retry-After: {limited['tries']}); "
          f"peak memory {limited['peak_memory_mb'] or 'unknown (no memory.peak)'} MiB")  # fmt: skip
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
