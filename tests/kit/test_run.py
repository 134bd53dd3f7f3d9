"""`kit run`: a complete run record in every outcome, written atomically, never overwritten."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import kit
from kit import settings
from kit.errors import KitError, RunFailed
from kit.record import all_runs
from tests.kit.conftest import kit as kit_command
from tests.kit.conftest import read, write_notebook

RECORD = {
    "notebook.ipynb",
    "params.json",
    "metrics.json",
    "artifacts",
    "manifest.json",
    "environment.json",
    "status.json",
    "kernel.log",
}


def test_a_run_leaves_a_complete_record(scoring_notebook, tmp_path):
    result = kit_command(
        "run", scoring_notebook, "-p", "scale", "2", "--runs-dir", "runs", "--threads", "1", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    run = tmp_path / result.stdout.strip().splitlines()[-1]
    assert {path.name for path in run.iterdir()} == RECORD
    assert read(run / "params.json") == {"seed": 0, "scale": 2.0}
    assert 0 <= read(run / "metrics.json")["score"] <= 2
    manifest = read(run / "manifest.json")
    assert set(manifest) == {"env/threads.txt", "hash.txt"}
    artifact = run / "artifacts" / "env" / "threads.txt"
    assert manifest["env/threads.txt"] == {"size": 1, "sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()}
    assert artifact.read_text() == "1"  # the thread count reached the kernel
    status = read(run / "status.json")
    assert status["status"] == "succeeded" and status["failure"] is None
    assert status["duration_s"] > 0 and status["started"] < status["ended"]
    env = read(run / "environment.json")
    assert {"python", "platform", "cpu", "image", "git", "packages", "threads", "seed", "hash_seed"} <= set(env)
    assert env["packages"]["papermill"] and env["image"]["lock_sha256"]
    assert env["threads"]["intra_op"] == 1 and env["threads"]["variables"]["TF_NUM_INTRAOP_THREADS"] == "1"
    assert env["seed"]["seed"] == 0 and env["hash_seed"] == "0"
    assert env["cpu"]["usable"] >= 1
    executed = read(run / "notebook.ipynb")
    assert executed["metadata"]["papermill"]["parameters"] == {"scale": 2.0}
    assert "Executing" in result.stderr  # progress per cell


def test_the_kernel_runs_in_the_notebook_folder_with_a_fixed_hash_seed(tmp_path):
    (tmp_path / "data.txt").write_text("bundled")
    notebook = write_notebook(
        tmp_path / "cwd.ipynb",
        "seed = 3",
        "import kit",
        "kit.artifact_path('out.txt').write_text(open('data.txt').read() + str(hash('x')))",
    )
    runs = [kit.run(notebook, runs_dir=tmp_path / "elsewhere" / "runs") for _ in range(2)]
    outputs = [(run.path / "artifacts" / "out.txt").read_text() for run in runs]
    assert outputs[0].startswith("bundled") and outputs[0] == outputs[1]
    assert runs[0].environment["hash_seed"] == "3"


def test_a_failed_run_is_recorded_with_its_failing_cell(tmp_path):
    notebook = write_notebook(tmp_path / "fail.ipynb", "x = 1", "print('before')", "raise ValueError('bad x')", "1")
    result = kit_command("run", notebook, cwd=tmp_path)
    assert result.returncode == 1
    run = tmp_path / result.stdout.strip().splitlines()[-1]
    status = read(run / "status.json")
    assert status["status"] == "failed"
    assert status["failure"] == {"cell_index": 2, "execution_count": 3, "ename": "ValueError", "evalue": "bad x"}
    assert result.stderr.strip().splitlines()[-1].startswith("error: cell 2 (In [3]) failed with ValueError: bad x")
    outputs = [cell.get("outputs") for cell in read(run / "notebook.ipynb")["cells"] if cell["cell_type"] == "code"]
    assert outputs[1][0]["text"] == ["before\n"]  # the partial notebook keeps what ran
    assert {path.name for path in run.iterdir()} == RECORD


def test_a_cell_that_outlasts_the_timeout_fails_the_run(tmp_path):
    notebook = write_notebook(tmp_path / "slow.ipynb", None, "1", "import time; time.sleep(60)")
    with pytest.raises(RunFailed) as failed:
        kit.run(notebook, runs_dir=tmp_path / "runs", timeout=1)
    assert failed.value.failure["ename"] == "CellTimeoutError" and failed.value.failure["cell_index"] == 1
    assert "--timeout" in str(failed.value)
    assert read(failed.value.run_dir / "status.json")["status"] == "failed"


def test_a_run_id_is_never_overwritten(scoring_notebook, tmp_path):
    assert kit_command("run", scoring_notebook, "--run-id", "first", cwd=tmp_path).returncode == 0
    before = (tmp_path / "runs" / "first" / "status.json").read_bytes()
    again = kit_command("run", scoring_notebook, "--run-id", "first", cwd=tmp_path)
    assert again.returncode == 2 and "run id 'first' is taken" in again.stderr and "--run-id" in again.stderr
    assert (tmp_path / "runs" / "first" / "status.json").read_bytes() == before


def test_concurrent_runs_into_one_runs_dir_all_keep_their_records(scoring_notebook, tmp_path):
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda scale: kit.run(scoring_notebook, {"scale": scale}, runs_dir=tmp_path / "runs"),
                [1.0, 2.0, 3.0, 4.0],
            )
        )
    assert len({run.id for run in results}) == 4
    assert sorted(run.params["scale"] for run in all_runs(tmp_path / "runs")) == [1, 2, 3, 4]
    processes = [
        subprocess.Popen(
            ["kit", "run", str(scoring_notebook), "--runs-dir", "proc"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(3)
    ]
    paths = {process.communicate()[0].strip() for process in processes}
    assert len(paths) == 3 and all((tmp_path / path / "status.json").is_file() for path in paths)


def test_ctrl_c_records_an_interrupted_run_and_exits_130(tmp_path):
    notebook = write_notebook(
        tmp_path / "long.ipynb", None, "import kit; kit.log_metric('started', 1)", "import time; time.sleep(60)"
    )
    process = subprocess.Popen(
        ["kit", "run", str(notebook)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    runs = tmp_path / "runs"
    deadline = time.monotonic() + 60
    while not any(runs.glob(f".*{settings.PARTIAL_SUFFIX}/metrics.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    run = tmp_path / stdout.strip().splitlines()[-1]
    assert read(run / "status.json")["status"] == "interrupted"
    assert read(run / "metrics.json") == {"started": 1}
    assert not list(runs.glob(".*"))  # no hidden partial run left behind


def test_a_killed_run_never_looks_complete(tmp_path):
    notebook = write_notebook(tmp_path / "long.ipynb", None, "import time; time.sleep(60)")
    process = subprocess.Popen(
        ["kit", "run", str(notebook)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    runs = tmp_path / "runs"
    deadline = time.monotonic() + 60
    while not any(runs.glob(f".*{settings.PARTIAL_SUFFIX}/params.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    process.kill()
    process.wait()
    assert [path.name for path in runs.iterdir() if not path.name.startswith(".")] == []
    assert "no runs yet" in kit_command("runs", cwd=tmp_path).stdout


BAD = [
    (["missing.ipynb"], "no such notebook"),
    (["broken.ipynb"], "not a notebook"),
    (["plain.ipynb", "-p", "seed", "1"], "no cell tagged 'parameters'"),
    (["score.ipynb", "-p", "sead", "1"], "unknown parameter 'sead'"),
    (["score.ipynb", "-p", "seed", "one"], "'seed' expects int"),
    (["score.ipynb", "-f", "bad.yaml"], "bad.yaml is not valid YAML (line 3)"),
    (["score.ipynb", "-f", "list.yaml"], "must be a mapping"),
    (["score.ipynb", "-f", "typed.yaml"], "'scale' expects float, got 'big'"),
    (["score.ipynb", "-f", "absent.yaml"], "cannot read absent.yaml"),
    (["score.ipynb", "--run-id", "../up"], "run id '../up' is not allowed"),
    (["score.ipynb", "--run-id", "scratch"], "not 'scratch'"),
    (["score.ipynb", "--timeout", "0"], "Invalid value for '--timeout'"),
    (["score.ipynb", "--threads", "zero"], "Invalid value for '--threads'"),
    (["score.ipynb", "--no-such-option"], "No such option"),
]


@pytest.mark.parametrize(
    ("args", "message"),
    BAD,
    ids=[
        "missing-notebook",
        "not-json",
        "no-parameters-cell",
        "unknown-parameter",
        "wrong-type",
        "bad-yaml",
        "yaml-not-mapping",
        "yaml-wrong-type",
        "yaml-missing",
        "run-id-path",
        "run-id-scratch",
        "timeout-zero",
        "threads-not-int",
        "unknown-option",
    ],
)
def test_a_mistake_is_one_line_exit_2_and_nothing_written(scoring_notebook, tmp_path, args, message):
    (tmp_path / "broken.ipynb").write_text("{ not json")
    write_notebook(tmp_path / "plain.ipynb", None, "1")
    (tmp_path / "bad.yaml").write_text("seed: 1\nscale: [\n")
    (tmp_path / "list.yaml").write_text("- seed\n")
    (tmp_path / "typed.yaml").write_text("scale: big\n")
    result = kit_command("run", *args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in lines if line.startswith("error") or line.startswith("Error")]) == 1
    assert not (tmp_path / "runs").exists()


def test_yaml_values_keep_their_types_and_p_overrides_them(scoring_notebook, tmp_path):
    (tmp_path / "params.yaml").write_text("seed: 7\nscale: 3\n")
    result = kit_command("run", scoring_notebook, "-f", "params.yaml", "-p", "seed", "8", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read(tmp_path / result.stdout.strip() / "params.json") == {"seed": 8, "scale": 3.0}


def test_the_api_refuses_mistakes_before_running(scoring_notebook, tmp_path):
    with pytest.raises(KitError, match="unknown parameter"):
        kit.run(scoring_notebook, {"nope": 1}, runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
    assert isinstance(kit.run(scoring_notebook, runs_dir=tmp_path / "runs").path, Path)
