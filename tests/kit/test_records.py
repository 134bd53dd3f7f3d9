"""Reading run records back: `kit runs`, `runs show`, `runs diff`, `kit report`, `kit env`."""

from __future__ import annotations

import json
import os

import pytest

import kit
from tests.utils.commands import kit as kit_command
from tests.utils.notebooks import write_notebook

PLOT = "# the code cell\nimport matplotlib.pyplot as plt\nplt.plot([1, 3, 2]); plt.title('loss'); plt.show()"


@pytest.fixture
def two_runs(tmp_path, scoring_notebook):
    runs = tmp_path / "runs"
    return [kit.run(scoring_notebook, {"scale": scale}, runs_dir=runs, run_id=f"s{scale}") for scale in (1, 2)]


def test_runs_table_lists_every_run_with_params_and_metrics(tmp_path, two_runs):
    result = kit_command("runs", cwd=tmp_path)
    assert result.returncode == 0
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["id", "notebook", "status", "started", "seconds", "cpu_s", "peak_mb", "params", "metrics"]
    assert [row.split()[0] for row in rows] == ["s1", "s2"]
    assert "scale=2" in rows[1] and "score=" in rows[1] and "succeeded" in rows[1]


def test_show_and_diff(tmp_path, two_runs):
    shown = kit_command("runs", "show", "s1", cwd=tmp_path).stdout
    assert "status     succeeded" in shown and "scale = 1" in shown and "hash.txt" in shown
    diff = kit_command("runs", "diff", "s1", "s2", cwd=tmp_path).stdout
    assert "params: 1 differ\n  scale: 1 -> 2" in diff
    assert "metrics: 1 differ" in diff and "artifacts: same" in diff


def test_unknown_run_is_a_usage_error(tmp_path, two_runs):
    result = kit_command("runs", "show", "nope", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("error: no run 'nope' in runs: `kit runs")


def test_report_has_the_record_and_the_plots_and_can_hide_code(tmp_path):
    notebook = write_notebook(tmp_path / "plot.ipynb", "seed = 1", "import kit; kit.log_metric('auc', 0.9)", PLOT)
    run = kit.run(notebook, runs_dir=tmp_path / "runs", run_id="plotted")
    result = kit_command("report", "plotted", cwd=tmp_path)
    assert result.returncode == 0
    html = (tmp_path / result.stdout.strip()).read_text()
    assert "Run <code>plotted</code>" in html and "data:image/png;base64" in html and "# the code cell" in html
    hidden = tmp_path / "hidden.html"
    assert kit_command("report", run.path, "--hide-code", "-o", hidden, cwd=tmp_path).returncode == 0
    assert "data:image/png;base64" in hidden.read_text() and "# the code cell" not in hidden.read_text()


def test_env_prints_a_summary_and_json(tmp_path):
    summary = kit_command("env", cwd=tmp_path).stdout
    assert "python.version" in summary and "image.lock_sha256" in summary
    report = json.loads(kit_command("env", "--json", cwd=tmp_path).stdout)
    assert report["packages"].get("tensorflow-cpu") or report["packages"].get("tensorflow")
    assert report["cpu"]["usable"] >= 1


def test_records_of_kit_0_1_still_read_and_verify(tmp_path, scoring_notebook):
    """kit 0.1.0 kept the threads and hash seed in environment.json only, and could log NaN."""
    run = kit.run(scoring_notebook, runs_dir=tmp_path / "runs", run_id="old")
    status = json.loads((run.path / "status.json").read_text())
    for key in ("threads", "hash_seed", "kernel"):
        del status["invocation"][key]
    del status["record_problems"]
    (run.path / "status.json").write_text(json.dumps(status))
    (run.path / "metrics.json").write_text('{"score": NaN}')
    old = kit.find_run(run.path)
    assert old.info.invocation.threads.intra_op == run.environment["threads"]["intra_op"]
    assert kit.compare(old, kit.find_run(run.path)).changes["metrics"] == []  # NaN is NaN


@pytest.fixture
def named_runs(tmp_path, scoring_notebook):
    """Three runs whose ids share starts: `base-a1`, `base-a2` and `base-b1` (made in that order)."""
    runs = tmp_path / "runs"
    return {run_id: kit.run(scoring_notebook, {"scale": i}, runs_dir=runs, run_id=run_id)
            for i, run_id in enumerate(("base-a1", "base-a2", "base-b1"))}  # fmt: skip


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        pytest.param("base-a1", "base-a1", id="whole-id"),
        pytest.param("base-b", "base-b1", id="unique-start"),
        pytest.param("latest", "base-b1", id="latest"),
        pytest.param("runs/base-a2", "base-a2", id="directory"),
    ],
)
def test_a_run_is_named_by_its_id_a_unique_start_or_latest(tmp_path, named_runs, ref, expected):
    shown = kit_command("runs", "show", ref, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"run        {expected}  ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("runs", "show", "base-a"), "2 runs start with 'base-a' (base-a1, base-a2): give more", id="show"),
        pytest.param(("verify", "base"), "3 runs start with 'base' (base-a1, base-a2, base-b1)", id="verify"),
        pytest.param(("report", "base-a"), "2 runs start with 'base-a'", id="report"),
        pytest.param(("runs", "show", "nope"), "no run 'nope'", id="no-such-start"),
    ],
)
def test_a_start_several_runs_share_names_none_of_them(tmp_path, named_runs, args, message):
    result = kit_command(*args, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert not list((tmp_path / "runs").glob("*verify*"))  # nothing ran


def test_runs_dir_goes_before_or_after_the_subcommand(tmp_path, named_runs):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (
        ("runs", "--runs-dir", "../runs", "show", "latest"),
        ("runs", "show", "latest", "--runs-dir", "../runs"),
        ("runs", "diff", "base-a1", "base-b1", "--runs-dir", "../runs"),
    ):
        result = kit_command(*args, cwd=elsewhere)
        assert result.returncode == 0, (args, result.stderr)


def test_paths_are_printed_as_the_user_will_use_them(tmp_path, scoring_notebook, monkeypatch):
    """Relative to the working directory when inside it: the container's /home/jovyan/work means nothing on the host."""
    result = kit_command("run", scoring_notebook, "--run-id", "here", cwd=tmp_path, env={**os.environ,
                         "KIT_RUNS_DIR": str(tmp_path / "runs")})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "runs/here"
    report = kit_command("report", "here", cwd=tmp_path)
    assert report.stdout.strip() == "runs/here/report.html"


def test_a_wrong_type_says_what_to_pass_in_english(tmp_path, scoring_notebook):
    result = kit_command("run", scoring_notebook, "-p", "scale", "big", cwd=tmp_path)
    assert result.returncode == 2 and "pass a float" in result.stderr
    notebook = write_notebook(tmp_path / "int.ipynb", "count = 1", "1")
    result = kit_command("run", notebook, "-p", "count", "many", cwd=tmp_path)
    assert result.returncode == 2 and "pass an int (e.g. -p count 1)" in result.stderr
