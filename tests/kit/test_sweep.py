"""`kit sweep`: every point an ordinary, complete run; the sweep's record; failures, Ctrl-C and --resume.

The grid's expansion is checked in-process; everything else with the real command, real kernels and real records.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

import kit
from kit.record import layout
from kit.record.comparison import identity
from kit.running.notebook import load
from kit.sweeping.grid import Grid, from_options, split_values
from tests.utils.commands import kit as kit_command
from tests.utils.commands import last_line, read
from tests.utils.containers import wait_for
from tests.utils.notebooks import write_notebook
from tests.utils.paths import ROOT

RECORD = set(layout.RECORD)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        pytest.param("0,1,2", ["0", "1", "2"], id="plain"),
        pytest.param("[8,4],[16]", ["[8,4]", "[16]"], id="lists"),
        pytest.param("{a: 1, b: 2},{}", ["{a: 1, b: 2}", "{}"], id="mappings"),
        pytest.param('"a,b",c', ["a,b", "c"], id="quoted-comma"),
        pytest.param(" x , y ", ["x", "y"], id="spaces"),
        pytest.param("one", ["one"], id="one-value"),
        pytest.param("", [""], id="empty-text"),
    ],
)
def test_p_values_split_at_commas_outside_brackets_and_quotes(text, values):
    assert split_values(text) == values


def test_the_grid_is_the_product_of_its_axes_then_the_explicit_points(tmp_path):
    notebook = load(
        write_notebook(tmp_path / "nb.ipynb", "seed = 0\nmodel = 'a'\nrate: float = 0.1\nlayers = [8]", "1")
    )
    (tmp_path / "grid.yaml").write_text(
        "parameters: {rate: 0.5}\n"
        "grid:\n  seed: {range: [0, 4, 2]}\n  rate: {logspace: [-3, -1, 3]}\n"
        "points:\n  - {seed: 9, model: z}\n"
    )
    grid = from_options(load(notebook.path), [("model", "a,b"), ("layers", "[4,2],[8]")], [tmp_path / "grid.yaml"])
    points = grid.expand()
    assert len(points) == 2 * 3 * 2 * 2 + 1 == grid.size
    assert points[0] == {"seed": 0, "rate": 0.001, "model": "a", "layers": [4, 2]}
    assert points[1] == {"seed": 0, "rate": 0.001, "model": "a", "layers": [8]}  # the last axis varies fastest
    assert points[-1] == {"rate": 0.5, "seed": 9, "model": "z"}  # fixed values under an explicit point's own
    assert grid.swept() == ["seed", "rate", "model", "layers"]
    assert Grid(axes={"x": [1, 2]}, fixed={"y": 1}).merged(Grid(fixed={"x": 3})).expand() == [{"y": 1, "x": 3}]
    assert Grid().expand() == [{}]  # no grid: one point, the defaults
    assert Grid.from_dict({"grid": {"t": {"linspace": [0.1, 0.3, 3]}}}).expand() == [{"t": 0.1}, {"t": 0.2}, {"t": 0.3}]


def test_a_sweep_records_every_point_as_kit_run_would(tmp_path):
    """Each point's record has the bits `kit run` with the same parameters and threads gives."""
    notebook = ROOT / "notebooks" / "train_tabular.ipynb"
    result = kit_command("sweep", notebook, "-p", "seed", "0,1", "--workers", "2", "--threads", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = tmp_path / last_line(result.stdout)
    assert sweep_dir.parent == tmp_path / "runs" / "sweeps"
    record = read(sweep_dir / "sweep.json")
    assert record["status"] == "succeeded" and record["ended"] > record["started"]
    assert record["grid"]["grid"] == {"seed": [0, 1]} and record["swept"] == ["seed"]
    assert record["threads"]["intra_op"] == 1 and record["workers"] == 2
    assert [point["parameters"] for point in record["points"]] == [{"seed": 0}, {"seed": 1}]
    assert [point["status"] for point in record["points"]] == ["succeeded", "succeeded"]
    runs = [tmp_path / "runs" / point["runs"][-1] for point in record["points"]]
    assert [run.name for run in runs] == [f"{record['sweep_id']}.p0", f"{record['sweep_id']}.p1"]
    for run in runs:
        assert {path.name for path in run.iterdir()} == RECORD
        status = read(run / "status.json")
        assert status["status"] == "succeeded" and status["invocation"]["threads"]["intra_op"] == 1
        assert status["resources"]["cpu_s"] > 0.5 and status["resources"]["peak_rss_bytes"] > 50 << 20
    assert "[2/2] point" in result.stderr and "ETA" in result.stderr
    alone = kit_command("run", notebook, "-p", "seed", "1", "--threads", "1", cwd=tmp_path)
    assert alone.returncode == 0, alone.stderr[-3000:]
    single, swept = tmp_path / last_line(alone.stdout), runs[1]
    for name in ("params.json", "metrics.json"):
        assert (single / name).read_bytes() == (swept / name).read_bytes(), name
    manifests = [read(run / "manifest.json") for run in (single, swept)]
    assert {name: identity(entry) for name, entry in manifests[0].items()} == {
        name: identity(entry) for name, entry in manifests[1].items()
    }
    assert "model.skops" in manifests[0] and manifests[0]["heldout.csv"] == manifests[1]["heldout.csv"]
    shown = kit_command("sweep", "show", record["sweep_id"], "--sort", "-accuracy", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    table = shown.stdout.splitlines()
    header = next(line for line in table if line.startswith("point"))
    assert header.split()[:4] == ["point", "status", "seed", "accuracy"] and "peak_mb" in header
    rows = [line.split() for line in table[table.index(header) + 1 :] if line.strip()]
    accuracies = [float(row[3]) for row in rows]
    assert accuracies == sorted(accuracies, reverse=True)
    report = kit_command("report", record["sweep_id"], cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    page = Path(tmp_path / last_line(report.stdout)).read_text()
    assert "<svg" in page and "accuracy against seed" in page and f"{record['sweep_id']}.p1" in page


@pytest.fixture
def flaky(tmp_path) -> Path:
    """A quick notebook whose point x == 2 fails while fail.txt exists next to it."""
    (tmp_path / "fail.txt").write_text("")
    return write_notebook(
        tmp_path / "flaky.ipynb",
        "x = 0",
        "import kit, pathlib\nif x == 2 and pathlib.Path('fail.txt').exists():\n    raise ValueError('two fails')",
        "kit.log_metric('square', x * x)",
    )


def test_a_failing_point_does_not_stop_the_others_and_resume_reruns_only_it(flaky, tmp_path):
    result = kit_command("sweep", flaky, "-p", "x", "1,2,3", "--workers", "2", cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "1 of 3 points failed: point 1 (x=2)" in errors[0] and "--resume" in errors[0]
    sweep_dir = tmp_path / last_line(result.stdout)
    record = read(sweep_dir / "sweep.json")
    assert record["status"] == "failed"
    assert [point["status"] for point in record["points"]] == ["succeeded", "failed", "succeeded"]
    assert "ValueError: two fails" in record["points"][1]["message"]
    assert read(tmp_path / "runs" / record["points"][1]["runs"][0] / "status.json")["status"] == "failed"
    before = {path.name: path.stat().st_mtime_ns for path in (tmp_path / "runs").iterdir()}
    (tmp_path / "fail.txt").unlink()
    again = kit_command("sweep", "--resume", record["sweep_id"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "1 points of" in again.stderr  # only the failed point ran again
    record = read(sweep_dir / "sweep.json")
    assert record["status"] == "succeeded"
    assert [len(point["runs"]) for point in record["points"]] == [1, 2, 1]
    assert record["points"][1]["runs"][1] == f"{record['sweep_id']}.p1.r1"
    after = {path.name: path.stat().st_mtime_ns for path in (tmp_path / "runs").iterdir()}
    assert set(after) - set(before) == {f"{record['sweep_id']}.p1.r1"}
    assert all(after[name] == before[name] for name in before if name != "sweeps")  # the other runs untouched
    nothing = kit_command("sweep", "--resume", record["sweep_id"], cwd=tmp_path)
    assert nothing.returncode == 0 and "nothing to resume" in nothing.stderr


def _kernels(under: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "environ"]):
        environ = process.info.get("environ") or {}
        if "ipykernel" in " ".join(process.info.get("cmdline") or []) and str(under) in environ.get("KIT_RUN_DIR", ""):
            found.append(process)
    return found


def test_ctrl_c_records_running_points_as_interrupted_and_resume_finishes(tmp_path):
    notebook = write_notebook(
        tmp_path / "slow.ipynb",
        "x = 0",
        "import kit, time, pathlib\nkit.log_metric('started', x)",
        "while not pathlib.Path('go.txt').exists():\n    time.sleep(0.1)",
        "kit.log_metric('x', x)",
    )
    process = subprocess.Popen(
        ["kit", "sweep", str(notebook), "-p", "x", "0,1,2,3", "--workers", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    runs = tmp_path / "runs"
    wait_for(lambda: len(list(runs.glob(".*.partial/metrics.json"))) == 2, 60, "two points running")
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "interrupted: 0 of 4 points finished" in errors[0] and "--resume" in errors[0]
    record = read(tmp_path / last_line(stdout) / "sweep.json")
    assert record["status"] == "interrupted"
    statuses = [point["status"] for point in record["points"]]
    assert sorted(statuses) == ["interrupted", "interrupted", "pending", "pending"]
    for point in record["points"]:
        if point["status"] == "interrupted":
            status = read(runs / point["runs"][-1] / "status.json")
            assert status["status"] == "interrupted" and status["failure"]["ename"] == "KeyboardInterrupt"
        else:
            assert not (runs / point["runs"][-1]).exists()
    assert not list(runs.glob(".*.partial"))  # every started run was completed
    time.sleep(1)
    assert _kernels(runs) == []  # no kernel outlives the sweep
    (tmp_path / "go.txt").write_text("")
    again = kit_command("sweep", "--resume", record["sweep_id"], cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    record = read(tmp_path / last_line(again.stdout) / "sweep.json")
    assert [point["status"] for point in record["points"]] == ["succeeded"] * 4
    interrupted = [point for point in record["points"] if len(point["runs"]) == 2]
    assert len(interrupted) == 2 and all(point["runs"][1].endswith(".r1") for point in interrupted)


def test_threads_per_run_default_to_the_cpus_shared_by_the_workers(monkeypatch, scoring_notebook, tmp_path):
    from kit.sweeping import plan

    monkeypatch.setattr(plan, "usable_cpus", lambda: 8)
    assert plan.choose_threads(None, 3).intra_op == 2
    assert plan.choose_threads(None, 16).intra_op == 1
    assert plan.choose_threads(5, 3).intra_op == 5
    assert plan.choose_threads(None, None).intra_op == 1  # a Dask cluster: one thread per worker thread
    monkeypatch.setenv("KIT_THREADS", "3")
    assert plan.choose_threads(None, 2).intra_op == 3
    monkeypatch.delenv("KIT_THREADS")
    found = kit.sweep(scoring_notebook, {"scale": [1.0, 2.0]}, workers=2, runs_dir=tmp_path / "runs")
    threads = {(found.runs_dir / point.runs[-1] / "artifacts" / "env" / "threads.txt").read_text()
               for point in found.info.points}  # fmt: skip
    assert threads == {"4"}  # 8 CPUs (as patched) shared by 2 workers
    assert found.info.threads.source == "cpu-quota/workers"


def test_the_python_api_returns_the_sweep_and_refuses_a_bad_point_before_running(scoring_notebook, tmp_path):
    found = kit.sweep(scoring_notebook, {"seed": [1, 2]}, runs_dir=tmp_path / "runs", workers=1)
    assert [kit.find_run(point.runs[-1], found.runs_dir).params["seed"] for point in found.info.points] == [1, 2]
    assert kit.find_sweep(found.id, tmp_path / "runs").info == found.info
    with pytest.raises(kit.KitError, match=r"point 2 \(seed='x'\): parameter 'seed' expects int"):
        kit.sweep(scoring_notebook, {"seed": [1, 2, "x"]}, runs_dir=tmp_path / "other")
    assert not (tmp_path / "other").exists()
    assert json.loads((found.path / "sweep.json").read_text())["sweep_id"] == found.id


def test_a_point_that_leaves_a_parameter_out_shows_the_default_it_ran_with(scoring_notebook, tmp_path):
    """Explicit points of a grid file: `seed` set in one, left at its default (0) in the other."""
    (tmp_path / "grid.yaml").write_text("points:\n  - {seed: 7}\n  - {scale: 2.0}\n")
    result = kit_command("sweep", scoring_notebook, "-f", "grid.yaml", "--workers", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = kit_command("sweep", "show", "latest", cwd=tmp_path)
    rows = [line.split() for line in shown.stdout.splitlines() if line[:1].isdigit()]
    header = next(line.split() for line in shown.stdout.splitlines() if line.startswith("point"))
    seeds = [row[header.index("seed")] for row in rows]
    scales = [row[header.index("scale")] for row in rows]
    assert seeds == ["7", "0"] and scales == ["1", "2"] and "null" not in shown.stdout


def test_a_sweep_is_named_by_a_unique_start_of_its_id_or_latest(scoring_notebook, tmp_path):
    for scales in ("1,2", "3"):
        assert kit_command("sweep", scoring_notebook, "-p", "scale", scales, cwd=tmp_path).returncode == 0
    first, second = sorted(
        (tmp_path / "runs" / "sweeps").iterdir(), key=lambda path: read(path / "sweep.json")["started"]
    )
    assert kit_command("sweep", "show", "latest", cwd=tmp_path).stdout.startswith(f"sweep {second.name}  ")
    start = first.name[: len(first.name) - 4]  # its random part's first half tells it from the other
    assert kit_command("sweep", "show", start, cwd=tmp_path).stdout.startswith(f"sweep {first.name}  ")
    report = kit_command("report", first.name[:-2], cwd=tmp_path)  # a start its points' run ids share too
    assert report.returncode == 0 and report.stdout.strip() == f"runs/sweeps/{first.name}/report.html", report.stderr
    shared = kit_command("sweep", "show", first.name.split("-sweep-")[0][:8], cwd=tmp_path)
    assert shared.returncode == 2 and "2 sweeps start with" in shared.stderr, shared.stderr


def test_emit_k8s_says_the_sweep_and_its_job(scoring_notebook, tmp_path):
    result = kit_command("sweep", scoring_notebook, "-p", "scale", "1,2", "--emit-k8s", "k8s", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sweep_id = read(tmp_path / "k8s" / "sweep" / "sweep.json")["sweep_id"]
    assert f"sweep {sweep_id} written as the Job kit-sweep-{sweep_id.rsplit('-', 1)[-1]}" in result.stderr
    assert "kubectl apply -f k8s/pvc.yaml && kubectl apply -f k8s/job.yaml" in result.stderr
    assert result.stdout.split() == ["k8s/job.yaml", "k8s/pvc.yaml", "k8s/sweep/sweep.json", "k8s/sweep/notebook.ipynb"]
