"""Reading run records back: `kit runs`, `runs show`, `runs diff`, `kit report`, `kit env`."""

from __future__ import annotations

import json

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
