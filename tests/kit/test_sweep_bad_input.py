"""Sweep mistakes: every case is one `error:` line under 300 characters, exit 2, and not one file written.

As tests/kit/test_bad_input.py does for `kit run`, each case runs the real `kit` command in a workspace of its
own (a notebook, a runs directory with a finished sweep, the files the case needs) and compares the workspace
before and after. Every point of a sweep is prepared before any runs, so a bad value in its last point is caught
like one in its first.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import kit
from kit.record import layout
from kit.sweeping import emit_kubernetes
from tests.utils.commands import kit as kit_command
from tests.utils.files import snapshot, unlock
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


RUN = ("sweep", "score.ipynb")
SEEDS = ",".join(map(str, range(101)))

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
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, str]:
    """A folder with a finished sweep (two points) in runs/ and a sweep emitted for Kubernetes in emitted/."""
    folder = tmp_path_factory.mktemp("recorded")
    notebook = write_notebook(folder / "quick.ipynb", "x = 0\nseed = 0", "import kit; kit.log_metric('x', x)")
    found = kit.sweep(notebook, {"seed": [1, 2]}, runs_dir=folder / "runs", workers=2)
    emit_kubernetes(notebook, {"seed": [1, 2]}, folder / "emitted", runs_dir=folder / "runs")
    return folder, found.id


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


@pytest.mark.parametrize("bad", CASES)
def test_a_sweep_mistake_is_one_clear_line_and_writes_nothing(work, recorded, bad):
    sweep_id = recorded[1]
    for name, content in bad.files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    if bad.setup:
        bad.setup(work, sweep_id)
    args = [sweep_id if arg == SWEEP else arg for arg in bad.args]
    before = snapshot(work)
    result = kit_command(*args, cwd=work, timeout=120)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(errors) == 1, result.stderr[-2000:]
    assert bad.message in errors[0] and len(errors[0]) < 300, errors[0]
    assert "Traceback" not in result.stderr
    assert snapshot(work) == before, "a sweep mistake must write nothing"


def test_the_table_covers_every_kind_of_mistake():
    assert len(CASES) >= 60
