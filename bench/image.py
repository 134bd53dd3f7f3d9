"""Image benchmarks: cold build, rebuild after a change in kit/, size against the floor, start-up time.

Prints one figure per line and writes them to bench/results/image.json. Run with `make bench`.
Targets (issue 2): rebuild < 15 s; size within 10 % of the floor; docker run to /api/status < 3 s.
The floor is what the image cannot do without: the base OS with Debian's Python (the Dockerfile's
`os` stage) plus the installed packages (/opt/venv).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT)]  # imagebuild, as `PYTHONPATH=tools` runs it; tests.utils

from imagebuild import engine, images, paths  # noqa: E402
from tests.utils.containers import http_status, wait_for  # noqa: E402

IMAGE = os.environ.get("KIT_IMAGE", "kit:latest")
KIT = images.get("kit")
RESULTS = ROOT / "bench/results/image.json"


def timed(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


def quiet_build(image: str, *extra: str) -> None:
    """docker build as `make build` runs it, output discarded."""
    builder = engine.builder()
    command = [*builder.command, *extra, "--tag", image, "--file", str(KIT.dockerfile), str(paths.ROOT)]
    subprocess.run(command, env=os.environ | builder.env, check=True, capture_output=True)


def make_build() -> None:
    """What `make build` runs, output discarded."""
    command = [sys.executable, "-m", "imagebuild", "build", "--name", KIT.name, "--image", IMAGE]
    env = os.environ | {"PYTHONPATH": str(ROOT / "tools")}
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)


def cold_build() -> float:
    """Every layer built again from the base image and the wheelhouse (both present, as after a first build)."""
    tag = f"kit-bench-cold:{uuid.uuid4().hex[:8]}"
    try:
        return timed(quiet_build, tag, "--no-cache")
    finally:
        subprocess.run(["docker", "rmi", tag], capture_output=True)


def rebuilds(count: int = 3) -> list[float]:
    """`make build` after changing a file in kit/, each time with new content."""
    probe = ROOT / "kit/_bench_probe.py"
    try:
        times = []
        for _ in range(count):
            probe.write_text(f'"""Written by bench/image.py to measure a rebuild."""\nVALUE = "{uuid.uuid4()}"\n')
            times.append(timed(make_build))
        return times
    finally:
        probe.unlink(missing_ok=True)
        make_build()


def sizes() -> dict[str, float]:
    os_stage = "kit-bench-os:latest"
    quiet_build(os_stage, "--target", "os")
    base = int(docker("image", "inspect", "--format", "{{.Size}}", os_stage))
    venv = int(docker("run", "--rm", "--entrypoint", "du", IMAGE, "-sb", "/opt/venv").split()[0])
    image = int(docker("image", "inspect", "--format", "{{.Size}}", IMAGE))
    subprocess.run(["docker", "rmi", os_stage], capture_output=True)
    return {"image_mb": image / 1e6, "floor_mb": (base + venv) / 1e6, "ratio": image / (base + venv)}


def start_to_status(count: int = 5) -> list[float]:
    """From `docker run` until /api/status answers 200 with the token."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        cid = docker("run", "-d", "-e", "JUPYTER_TOKEN=bench", "-p", "127.0.0.1::8888", IMAGE)
        try:
            url = f"http://127.0.0.1:{docker('port', cid, '8888/tcp').split(':')[-1]}/api/status"
            wait_for(lambda url=url: http_status(url, "bench") == 200, 60, "/api/status answering 200", interval=0.02)
            times.append(time.perf_counter() - start)
        finally:
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    return times


def main() -> None:
    engine.require_engine()
    results: dict[str, object] = {"image": IMAGE, "builder": engine.builder().name, "cpus": os.cpu_count()}
    startup = start_to_status()
    results["start_to_api_status_s"] = {"median": statistics.median(startup), "runs": startup, "target": 3.0}
    print(f"start to /api/status: median {statistics.median(startup):.2f} s over {len(startup)} (target < 3 s)")
    size = sizes()
    results["size"] = size | {"target_ratio": 1.10}
    print(f"image {size['image_mb']:.0f} MB, floor {size['floor_mb']:.0f} MB: ", end="")
    print(f"ratio {size['ratio']:.3f} (target <= 1.10)")
    again = rebuilds()
    results["rebuild_after_kit_change_s"] = {"median": statistics.median(again), "runs": again, "target": 15.0}
    print(f"rebuild after a change in kit/: median {statistics.median(again):.1f} s over {len(again)} (target < 15 s)")
    cold = cold_build()
    results["cold_build_s"] = cold
    print(f"cold build (base image and wheelhouse present, --no-cache): {cold:.0f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
