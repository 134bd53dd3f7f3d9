"""Sweep mistakes: every case is one `error:` line under 300 characters, exit 2, and not one file written.

As tests/kit/test_bad_input.py does for `kit run`, each case runs the real `kit` command in a workspace of its
own (a notebook, a runs directory with a finished sweep, the files the case needs) and compares the workspace
before and after, every file hashed. Every point of a sweep is prepared before any runs, so a bad value in its last
point is caught like one in its first. No case may hang: a port that takes connections and says nothing, or speaks
HTTP, is refused as a Dask scheduler within seconds (the fixture `impostors` listens on 127.0.0.1).
"""

from __future__ import annotations

import fcntl
import http.server
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

import kit
from kit.record import layout
from kit.sweeping import emit_kubernetes
from tests.utils.commands import kit as kit_command
from tests.utils.files import snapshot, unlock
from tests.utils.kubernetes import invalid_names
from tests.utils.notebooks import write_notebook

PARAMETERS = "seed = 0\nscale: float = 1.0\nli: list[int] = [1, 2]\nname = 'a'\n"
#: Replaced, in a case's arguments, by the id of the finished sweep every workspace has.
SWEEP = "<SWEEP>"


@dataclass(frozen=True)
class Bad:
    """One mistake: the `kit` arguments, what the error line must say, the files and set-up it needs."""

    args: tuple
    message: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    setup: Callable[[Path, str], object] | None = None
    env: dict[str, str] = field(default_factory=dict)


def case(id: str, *args, message: str, **kwargs) -> pytest.param:  # noqa: A002 - pytest's own word
    return pytest.param(Bad(args, message, **kwargs), id=id)


def grid(text: str) -> dict[str, str]:
    return {"grid.yaml": text}


def laughs(leaf: str, levels: int = 6) -> str:
    """YAML of ``10**levels`` leaves in a few hundred characters."""
    parts = [f"&l0 [{', '.join([leaf] * 10)}]"]
    parts += [f"&l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels)]
    return f"[{', '.join(parts)}]"


def sweep_record(work: Path, sweep_id: str) -> Path:
    return work / "runs" / layout.SWEEPS / sweep_id / layout.SWEEP


def damage(work: Path, sweep_id: str) -> None:
    sweep_record(work, sweep_id).write_text("{ not json")


def other_notebook(work: Path, sweep_id: str) -> None:
    """The sweep's notebook as if it had changed since: its recorded hash no longer matches."""
    record = sweep_record(work, sweep_id)
    data = json.loads(record.read_text())
    record.write_text(json.dumps({**data, "notebook_sha256": "0" * 64}))


_HELD: list[int] = []


def hold_lock(work: Path, sweep_id: str) -> None:
    """Another kit process running the sweep: its lock is held (released at the case's end)."""
    descriptor = os.open(work / "runs" / layout.SWEEPS / sweep_id / layout.SWEEP_LOCK, os.O_RDWR)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    _HELD.append(descriptor)


def closed_folder(relative: str, mode: int) -> Callable[[Path, str], None]:
    def setup(work: Path, sweep_id: str) -> None:
        (work / relative).mkdir()
        (work / relative).chmod(mode)

    return setup


def change_emitted_notebook(work: Path, sweep_id: str) -> None:
    """The notebook next to an emitted sweep file, changed since (a ConfigMap edited by hand, say)."""
    notebook = work / "emitted" / "sweep" / "notebook.ipynb"
    notebook.write_text(notebook.read_text().replace("x = 0", "x = 1"))


def damage_emitted(work: Path, sweep_id: str) -> None:
    (work / "emitted" / "sweep" / "sweep.json").write_text("{ not json")


RUN = ("sweep", "score.ipynb")
SEEDS = ",".join(map(str, range(101)))
#: Replaced by the address of a port on 127.0.0.1 that takes connections and never answers, or speaks HTTP.
SILENT, HTTP = "<SILENT>", "<HTTP>"
POINT = ("sweep", "point", "emitted/sweep/sweep.json")
K8S = (*RUN, "-p", "seed", "1,2", "--emit-k8s", "k8s")

CASES = [
    # -p axes
    case("p-unknown-name", *RUN, "-p", "sead", "1,2", message="unknown parameter 'sead'"),
    case(
        "p-bad-value-in-point-7",
        *RUN,
        "-p",
        "seed",
        "0,1,2,3,4,5,6,x",
        message="point 7 (seed='x'): parameter 'seed' expects int, got 'x'",
    ),  # fmt: skip
    case(
        "p-bad-value-in-second-axis",
        *RUN,
        "-p",
        "seed",
        "0,1",
        "-p",
        "scale",
        "1,big",
        message="point 1 (seed=0, scale='big'): parameter 'scale' expects float",
    ),  # fmt: skip
    case("p-seed-out-of-range", *RUN, "-p", "seed", "1,-1", message="point 1 (seed=-1): seed must be an integer"),
    case("p-nan", *RUN, "-p", "scale", "1,nan", message="point 1 (scale=nan): parameter 'scale' is nan"),
    case("p-bad-yaml-list", *RUN, "-p", "li", "[1,2],[3", message="'li' is not valid YAML"),
    case("p-list-of-text", *RUN, "-p", "li", '[1],["a"]', message="point 1 (li=['a']): parameter 'li' expects"),
    case("p-given-twice", *RUN, "-p", "seed", "1", "-p", "seed", "2", message="parameter 'seed' is given twice"),
    case("p-same-point-twice", *RUN, "-p", "seed", "1,1", message="points 0 and 1 are the same (seed=1)"),
    case("p-missing-values", *RUN, "-p", "seed", message="requires 2 arguments"),
    case("p-billion-laughs", *RUN, "-p", "li", laughs("1"), message="'li' holds more than 100,000 items"),
    case(
        "p-too-many-points",
        *RUN,
        "-p",
        "seed",
        SEEDS,
        "-p",
        "scale",
        SEEDS,
        message="the grid has 10,201 points, more than 10,000: split it",
    ),  # fmt: skip
    # grid files
    case("f-missing", *RUN, "-f", "absent.yaml", message="absent.yaml cannot be read"),
    case("f-not-utf8", *RUN, "-f", "grid.yaml", message="grid.yaml is not UTF-8", files={"grid.yaml": b"\xff\xfe"}),
    case("f-bad-yaml", *RUN, "-f", "grid.yaml", message="grid.yaml is not valid YAML", files=grid("grid: [\n")),
    case("f-too-large", *RUN, "-f", "grid.yaml", message="more than a grid file", files=grid("x" * 1_100_000)),
    case(
        "f-duplicate-key",
        *RUN,
        "-f",
        "grid.yaml",
        message="duplicate key 'seed'",
        files=grid("grid:\n  seed: [1]\n  seed: [2]\n"),
    ),  # fmt: skip
    case("f-not-a-mapping", *RUN, "-f", "grid.yaml", message="grid.yaml must be a mapping", files=grid("- 1\n")),
    case(
        "f-run-parameters-file",
        *RUN,
        "-f",
        "grid.yaml",
        message="grid.yaml has a key 'seed': a grid file has 'parameters:'",
        files=grid("seed: 3\n"),
    ),  # fmt: skip
    case(
        "f-axis-scalar",
        *RUN,
        "-f",
        "grid.yaml",
        message="'seed' must be a non-empty list of values or a range",
        files=grid("grid: {seed: 3}\n"),
    ),  # fmt: skip
    case(
        "f-axis-empty",
        *RUN,
        "-f",
        "grid.yaml",
        message="'seed' must be a non-empty list",
        files=grid("grid: {seed: []}\n"),
    ),  # fmt: skip
    case(
        "f-range-of-floats",
        *RUN,
        "-f",
        "grid.yaml",
        message="range must be {range: [START, STOP]}",
        files=grid("grid: {seed: {range: [0, 1.5]}}\n"),
    ),  # fmt: skip
    case(
        "f-range-step-0",
        *RUN,
        "-f",
        "grid.yaml",
        message="the step not 0",
        files=grid("grid: {seed: {range: [0, 4, 0]}}\n"),
    ),  # fmt: skip
    case(
        "f-range-empty",
        *RUN,
        "-f",
        "grid.yaml",
        message="'seed' range gives 0 values",
        files=grid("grid: {seed: {range: [4, 0]}}\n"),
    ),  # fmt: skip
    case(
        "f-range-million",
        *RUN,
        "-f",
        "grid.yaml",
        message="range gives 1,000,000 values: give from 1 to 10,000",
        files=grid("grid: {seed: {range: [0, 1000000]}}\n"),
    ),  # fmt: skip
    case(
        "f-linspace-count-0",
        *RUN,
        "-f",
        "grid.yaml",
        message="COUNT a whole number from 1",
        files=grid("grid: {scale: {linspace: [0, 1, 0]}}\n"),
    ),  # fmt: skip
    case(
        "f-linspace-for-int",
        *RUN,
        "-f",
        "grid.yaml",
        message="point 0 (seed=0.0): parameter 'seed' expects int",
        files=grid("grid: {seed: {linspace: [0, 1, 3]}}\n"),
    ),  # fmt: skip
    case(
        "f-logspace-overflow",
        *RUN,
        "-f",
        "grid.yaml",
        message="logspace goes beyond what a float holds",
        files=grid("grid: {scale: {logspace: [0, 400, 3]}}\n"),
    ),  # fmt: skip
    case(
        "f-unknown-range",
        *RUN,
        "-f",
        "grid.yaml",
        message="must be a list of values or one of {range",
        files=grid("grid: {seed: {seq: [1, 2]}}\n"),
    ),  # fmt: skip
    case(
        "f-points-not-a-list",
        *RUN,
        "-f",
        "grid.yaml",
        message="'points' must be a list of mappings",
        files=grid("points: {seed: 1}\n"),
    ),  # fmt: skip
    case(
        "f-point-not-a-mapping",
        *RUN,
        "-f",
        "grid.yaml",
        message="point 0 must be a mapping",
        files=grid("points: [3]\n"),
    ),  # fmt: skip
    case(
        "f-point-bad-value",
        *RUN,
        "-f",
        "grid.yaml",
        message="point 1 (seed='x'): parameter 'seed' expects int",
        files=grid("points: [{seed: 1}, {seed: x}]\n"),
    ),  # fmt: skip
    case(
        "f-point-unknown-name",
        *RUN,
        "-f",
        "grid.yaml",
        message="unknown parameter 'epochs'",
        files=grid("points: [{epochs: 3}]\n"),
    ),  # fmt: skip
    case(
        "f-point-same-as-default",
        *RUN,
        "-f",
        "grid.yaml",
        message="points 0 and 1 are the same",
        files=grid("points: [{seed: 0}, {}]\n"),
    ),  # fmt: skip
    case("f-date", *RUN, "-f", "grid.yaml", message="'name' is a date", files=grid("grid: {name: [2024-01-01]}\n")),
    case(
        "f-billion-laughs",
        *RUN,
        "-f",
        "grid.yaml",
        message="holds more than 100,000 items",
        files=grid(f"grid: {{li: {laughs('1', 7)}}}\n"),
    ),  # fmt: skip
    # options
    case("workers-0", *RUN, "--workers", "0", message="--workers must be a whole number from 1 to 256, not 0"),
    case("workers-1000", *RUN, "--workers", "1000", message="--workers must be a whole number from 1 to 256"),
    case("workers-text", *RUN, "--workers", "all", message="'all' is not a valid integer"),
    case(
        "workers-with-scheduler",
        *RUN,
        "--workers",
        "2",
        "--scheduler",
        "tcp://127.0.0.1:1",
        message="--workers is for sweeps on this machine",
    ),  # fmt: skip
    case("dask-mode-without-scheduler", *RUN, "--dask-mode", "ship", message="--dask-mode goes with --scheduler"),
    case("dask-mode-unknown", *RUN, "--dask-mode", "nfs", message="'nfs' is not one of 'auto', 'shared', 'ship'"),
    case(
        "dask-wait-text",
        *RUN,
        "--scheduler",
        "tcp://127.0.0.1:1",
        env={"KIT_DASK_WAIT": "soon"},
        message="KIT_DASK_WAIT must be a number of seconds above 0, not 'soon'",
    ),
    case(
        "dask-max-record-0",
        *RUN,
        "--scheduler",
        "tcp://127.0.0.1:1",
        env={"KIT_DASK_MAX_RECORD_MB": "0"},
        message="KIT_DASK_MAX_RECORD_MB must be a whole number of megabytes above 0, not '0'",
    ),
    case("threads-0", *RUN, "--threads", "0", message="--threads must be a whole number from 1 to 4096"),
    case("timeout-0", *RUN, "--timeout", "0", message="--timeout must be a number of seconds above 0"),
    case(
        "scheduler-unreachable",
        *RUN,
        "--scheduler",
        "tcp://127.0.0.1:1",
        message="cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'",
    ),  # fmt: skip
    case(
        "runs-dir-read-only",
        *RUN,
        "--runs-dir",
        "ro",
        message="runs directory ro is not writable",
        setup=closed_folder("ro", 0o555),
    ),  # fmt: skip
    case("no-notebook", "sweep", message="pass the NOTEBOOK to sweep"),
    case("notebook-missing", "sweep", "missing.ipynb", "-p", "seed", "1", message="no such notebook"),
    case("unknown-option", *RUN, "--no-such-option", message="No such option '--no-such-option'"),
    # --resume
    case("resume-unknown", "sweep", "--resume", "nope", message="no sweep 'nope' in runs/sweeps"),
    case("resume-with-p", "sweep", "--resume", SWEEP, "-p", "seed", "1", message="leave out -p"),
    case("resume-with-notebook", "sweep", "score.ipynb", "--resume", SWEEP, message="leave out NOTEBOOK"),
    case("resume-damaged", "sweep", "--resume", SWEEP, message="is not JSON", setup=damage),
    case(
        "resume-notebook-changed",
        "sweep",
        "--resume",
        SWEEP,
        message="changed since the sweep prepared it",
        setup=other_notebook,
    ),  # fmt: skip
    case(
        "resume-running-elsewhere",
        "sweep",
        "--resume",
        SWEEP,
        message="is running in another kit process",
        setup=hold_lock,
    ),  # fmt: skip
    # reading sweeps
    case("show-unknown", "sweep", "show", "nope", message="no sweep 'nope'"),
    case(
        "show-sort-unknown",
        "sweep",
        "show",
        SWEEP,
        "--sort",
        "-nope",
        message="--sort takes a metric or swept parameter of this sweep (x, seed), not 'nope'",
    ),  # fmt: skip
    case("show-damaged", "sweep", "show", SWEEP, message="is not JSON", setup=damage),
    case("report-unknown", "report", "nope", message="no run 'nope'"),
    case("report-to-missing-folder", "report", SWEEP, "-o", "missing/r.html", message="cannot write the report"),
    # Kubernetes
    case(
        "k8s-into-a-used-folder",
        *RUN,
        "--emit-k8s",
        "used",
        message="exists and is not an empty folder",
        files={"used/job.yaml": "x"},
    ),  # fmt: skip
    case(
        "k8s-with-scheduler",
        *RUN,
        "--emit-k8s",
        "k8s",
        "--scheduler",
        "tcp://127.0.0.1:1",
        message="leave out --scheduler",
    ),  # fmt: skip
    case("k8s-image-alone", *RUN, "--k8s-image", "kit:1", message="--k8s-image and --k8s-claim go with --emit-k8s"),
    case("point-missing-file", "sweep", "point", "nope.json", "--index", "0", message="no sweep 'nope.json'"),
    case("point-without-index", "sweep", "point", "emitted/sweep/sweep.json", message="no point index: pass --index"),
    case(
        "point-index-out-of-range",
        "sweep",
        "point",
        "emitted/sweep/sweep.json",
        "--index",
        "9",
        message="point index 9 is not one of the sweep's: pass 0 to 1",
    ),  # fmt: skip
    # click's own usage errors
    case("show-without-sweep", "sweep", "show", message="Missing argument 'SWEEP'"),
    # more grids and options
    case(
        "f-range-beyond-64-bits",
        *RUN,
        "-f",
        "grid.yaml",
        message="'seed' range gives more than 10**15 values: give from 1 to 10,000",
        files=grid(f"grid: {{seed: {{range: [{-(2**62)}, {2**62}]}}}}\n"),
    ),  # fmt: skip
    case(
        "f-range-beyond-64-bits-down",
        *RUN,
        "-f",
        "grid.yaml",
        message="range gives more than 10**15 values",
        files=grid(f"grid: {{seed: {{range: [{2**63}, {-(2**63)}, -1]}}}}\n"),
    ),  # fmt: skip
    case(
        "f-range-beyond-64-bits-few-values",
        *RUN,
        "-f",
        "grid.yaml",
        message="parameter 'seed' is an integer beyond 64 bits",
        files=grid(f"grid: {{seed: {{range: [{-(2**63)}, {2**63}, {2**61}]}}}}\n"),
    ),  # fmt: skip
    case("timeout-nan", *RUN, "--timeout", "nan", message="--timeout must be a number of seconds above 0, not nan"),
    case("timeout-inf", *RUN, "--timeout", "inf", message="--timeout must be a number of seconds above 0, not inf"),
    case("threads-negative", *RUN, "--threads", "-1", message="--threads must be a whole number from 1 to 4096"),
    case("workers-negative", *RUN, "--workers", "-1", message="--workers must be a whole number from 1 to 256"),
    # --scheduler: refused within seconds, whatever listens there, and the process ends at once
    case("scheduler-empty", *RUN, "--scheduler", "", message="at '' (not an address: HOST:PORT"),
    case("scheduler-not-a-url", *RUN, "--scheduler", "not-a-url", message="(not an address: HOST:PORT"),
    case(
        "scheduler-http-url",
        *RUN,
        "--scheduler",
        "http://127.0.0.1:8787/status",
        message="('http://' is not a Dask address: it starts with tcp://)",
    ),  # fmt: skip
    case("scheduler-port-0", *RUN, "--scheduler", "tcp://127.0.0.1:0", message="(not an address: HOST:PORT"),
    case("scheduler-port-too-large", *RUN, "--scheduler", "tcp://127.0.0.1:70000", message="not an address"),
    case("scheduler-port-superscript", *RUN, "--scheduler", "tcp://127.0.0.1:²", message="not an address"),
    case("scheduler-no-host", *RUN, "--scheduler", "tcp://:8786", message="not an address"),
    case(
        "scheduler-silent-port",
        *RUN,
        "--scheduler",
        SILENT,
        message="takes connections but gave no Dask answer in 6 s: is it the scheduler's port (8786), not the",
    ),  # fmt: skip
    case("scheduler-http-server", *RUN, "--scheduler", HTTP, message="the dashboard"),
    case("scheduler-http-server-no-scheme", *RUN, "--scheduler", HTTP.replace("<", "<bare-"), message="the dashboard"),
    # --emit-k8s: what Kubernetes would refuse is refused before a file is written
    case("k8s-image-empty", *K8S, "--k8s-image", "", message="--k8s-image '' is empty: pass the image the pods run"),
    case("k8s-image-space", *K8S, "--k8s-image", "kit latest", message="--k8s-image 'kit latest' holds white space"),
    case("k8s-image-newline", *K8S, "--k8s-image", "kit:1\nrm", message="'kit:1\\nrm' holds white space ('\\n')"),
    case("k8s-image-upper-case", *K8S, "--k8s-image", "Kit:1", message="has upper-case letters in its repository"),
    case("k8s-image-url", *K8S, "--k8s-image", "https://registry/kit:1", message="is not an image reference"),
    case("k8s-image-bad-tag", *K8S, "--k8s-image", "kit:-1", message="is not an image reference"),
    case(
        "k8s-claim-invalid",
        *K8S,
        "--k8s-claim",
        "Runs_Claim!",
        message="--k8s-claim 'Runs_Claim!' is not a DNS-1123 subdomain",
    ),  # fmt: skip
    case(
        "k8s-claim-empty", *K8S, "--k8s-claim", "", message="--k8s-claim '' is empty: it must be a DNS-1123 subdomain"
    ),
    case("k8s-claim-too-long", *K8S, "--k8s-claim", "c" * 300, message="is 300 characters long"),
    case("k8s-claim-leading-dash", *K8S, "--k8s-claim", "-runs", message="is not a DNS-1123 subdomain"),
    case("k8s-claim-alone", *RUN, "--k8s-claim", "runs", message="--k8s-image and --k8s-claim go with --emit-k8s"),
    case("k8s-workers-0", *K8S, "--workers", "0", message="--workers must be a whole number from 1 to 256"),
    # kit sweep point: what each pod runs
    case(
        "point-index-superscript",
        *POINT,
        message="JOB_COMPLETION_INDEX='²' is not a point index: 0 to 1",
        env={"JOB_COMPLETION_INDEX": "²"},
    ),  # fmt: skip
    case("point-index-arabic-digit", *POINT, message="is not a point index", env={"JOB_COMPLETION_INDEX": "١"}),
    case("point-index-negative", *POINT, message="'-1' is not a point index", env={"JOB_COMPLETION_INDEX": "-1"}),
    case("point-index-text", *POINT, message="'one' is not a point index", env={"JOB_COMPLETION_INDEX": "one"}),
    case(
        "point-index-5000-digits",
        *POINT,
        message="characters) is not a point index",
        env={"JOB_COMPLETION_INDEX": "9" * 5000},
    ),  # fmt: skip
    case("point-index-beyond", *POINT, message="point index 2 is not one of", env={"JOB_COMPLETION_INDEX": "2"}),
    case("point-flag-negative", *POINT, "--index", "-1", message="point index -1 is not one of the sweep's"),
    case("point-flag-huge", *POINT, "--index", str(2**70), message=f"point index {2**70} is not one of"),
    case("point-flag-superscript", *POINT, "--index", "²", message="'²' is not a valid integer"),
    case(
        "point-notebook-changed",
        *POINT,
        "--index",
        "0",
        message="notebook.ipynb: differs from the notebook the sweep prepared",
        setup=change_emitted_notebook,
    ),  # fmt: skip
    case("point-damaged-file", *POINT, "--index", "0", message="is not JSON", setup=damage_emitted),
    case(
        "point-runs-dir-read-only",
        *POINT,
        "--index",
        "0",
        "--runs-dir",
        "ro",
        message="runs directory ro is not writable",
        setup=closed_folder("ro", 0o555),
    ),  # fmt: skip
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, str]:
    """A folder with a finished sweep (two points) in runs/ and a sweep emitted for Kubernetes in emitted/."""
    folder = tmp_path_factory.mktemp("recorded")
    notebook = write_notebook(folder / "quick.ipynb", "x = 0\nseed = 0", "import kit; kit.log_metric('x', x)")
    found = kit.sweep(notebook, {"seed": [1, 2]}, runs_dir=folder / "runs", workers=2)
    emit_kubernetes(notebook, {"seed": [1, 2]}, folder / "emitted", runs_dir=folder / "runs")
    return folder, found.id


class Silent(http.server.BaseHTTPRequestHandler):
    """Reads a request and never answers (the socket stays open until the client goes)."""

    def handle(self) -> None:
        self.connection.settimeout(60)
        try:
            while self.connection.recv(1 << 16):
                pass
        except OSError:
            pass


@pytest.fixture(scope="module")
def impostors() -> Iterator[dict[str, str]]:
    """Ports on 127.0.0.1 that are no Dask scheduler: one takes connections and says nothing, one is an HTTP server
    (as a Dask dashboard's port is). Their addresses replace SILENT and HTTP in a case's arguments."""
    silent = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    for server in (silent, web):
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    web_address = f"127.0.0.1:{web.server_address[1]}"
    yield {SILENT: f"tcp://127.0.0.1:{silent.server_address[1]}", HTTP: f"tcp://{web_address}",
           HTTP.replace("<", "<bare-"): web_address}  # fmt: skip
    for server in (silent, web):
        server.shutdown()
        server.server_close()


@pytest.fixture
def work(tmp_path, recorded) -> Path:
    folder, _ = recorded
    write_notebook(tmp_path / "score.ipynb", PARAMETERS, "import kit; kit.log_metric('scale', scale)")
    shutil.copytree(folder / "runs", tmp_path / "runs")
    shutil.copytree(folder / "emitted", tmp_path / "emitted")
    yield tmp_path
    while _HELD:
        os.close(_HELD.pop())
    unlock(tmp_path)


#: Seconds any mistake takes to be refused, the Dask ones included (6 s of them waiting for an answer).
BOUND = 40


@pytest.mark.parametrize("bad", CASES)
def test_a_sweep_mistake_is_one_clear_line_and_writes_nothing(work, recorded, impostors, bad):
    sweep_id = recorded[1]
    for name, content in bad.files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    if bad.setup:
        bad.setup(work, sweep_id)
    places = {SWEEP: sweep_id, **impostors}
    args = [places.get(arg, arg) for arg in bad.args]
    before = snapshot(work)
    started = time.monotonic()
    result = kit_command(*args, cwd=work, env={**os.environ, **bad.env}, timeout=BOUND * 3)
    took = time.monotonic() - started
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(errors) == 1, result.stderr[-2000:]
    assert bad.message in errors[0] and len(errors[0]) < 300, errors[0]
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr[-2000:]
    assert took < BOUND, f"took {took:.0f} s"
    assert snapshot(work) == before, "a sweep mistake must write nothing"


def test_the_table_covers_every_kind_of_mistake():
    assert len(CASES) >= 100


def test_the_impostors_take_connections_and_never_answer_as_dask(impostors):
    """The hang cases test what they say: both ports take a connection; the silent one never answers."""
    for address in (impostors[SILENT], impostors[HTTP]):
        host, port = address.removeprefix("tcp://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as connection:
            connection.settimeout(1)
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            try:
                answer = connection.recv(100)
            except TimeoutError:
                answer = None
            assert (answer is None) == (address == impostors[SILENT]), answer


def test_emitted_names_are_what_kubernetes_requires_whatever_the_notebook(tmp_path):
    """Strict schema validation does not check names: they are checked here directly, for an awkward notebook name."""
    notebook = write_notebook(tmp_path / "2024 Übung_MODEL (v2).ipynb", "seed = 0", "print(seed)")
    emit_kubernetes(notebook, {"seed": [1, 2]}, tmp_path / "k8s", runs_dir=tmp_path / "runs", claim="team.runs-1")
    documents = [
        doc for name in ("job.yaml", "pvc.yaml") for doc in yaml.safe_load_all((tmp_path / "k8s" / name).open())
    ]
    assert [doc["kind"] for doc in documents] == ["ConfigMap", "Job", "PersistentVolumeClaim"]
    assert [problem for doc in documents for problem in invalid_names(doc)] == []
