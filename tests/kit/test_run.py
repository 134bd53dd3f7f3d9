"""`kit run`: a complete run record in every outcome, written atomically, never overwritten."""

from __future__ import annotations

import hashlib
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import kit
from kit.errors import KitError, RunFailed
from kit.record import RunStatus, layout, list_runs
from tests.utils.commands import kit as kit_command
from tests.utils.commands import last_line, read
from tests.utils.containers import wait_for
from tests.utils.notebooks import write_notebook

RECORD = set(layout.RECORD)


def test_a_run_leaves_a_complete_record(scoring_notebook, tmp_path):
    result = kit_command(
        "run", scoring_notebook, "-p", "scale", "2", "--runs-dir", "runs", "--threads", "1", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    run = tmp_path / last_line(result.stdout)
    assert {path.name for path in run.iterdir()} == RECORD
    assert read(run / "params.json") == {"seed": 0, "scale": 2.0}
    assert 0 <= read(run / "metrics.json")["score"] <= 2
    manifest = read(run / "manifest.json")
    assert set(manifest) == {"env/threads.txt", "hash.txt"}
    artifact = run / "artifacts" / "env" / "threads.txt"
    assert manifest["env/threads.txt"] == {"size": 1, "sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()}
    assert artifact.read_text() == "1"  # the thread count reached the kernel
    status = read(run / "status.json")
    assert status["status"] == "succeeded" and status["failure"] is None and status["record_problems"] == []
    assert status["duration_s"] > 0 and status["started"] < status["ended"]
    assert status["invocation"]["parameters"] == {"scale": 2.0}
    assert status["invocation"]["threads"]["intra_op"] == 1 and status["invocation"]["hash_seed"] == "0"
    env = read(run / "environment.json")
    assert {"python", "platform", "cpu", "image", "git", "packages", "threads", "seed", "hash_seed"} <= set(env)
    assert env["packages"]["papermill"] and env["image"]["lock_sha256"]
    assert env["threads"]["intra_op"] == 1 and env["threads"]["variables"]["TF_NUM_INTRAOP_THREADS"] == "1"
    assert env["seed"]["seed"] == 0 and env["hash_seed"] == "0"
    assert env["cpu"]["usable"] >= 1
    executed = read(run / "notebook.ipynb")
    assert executed["metadata"]["papermill"]["parameters"] == {"scale": 2.0}
    assert "Executing" in result.stderr  # progress per cell
    assert "Passed unknown parameter" not in result.stderr


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
    assert runs[0].environment["hash_seed"] == "3" == runs[0].info.invocation.hash_seed


VALUES = {
    "count: int": 2**62,
    "ratio: float": 1e-300,
    "negative_zero: float": -0.0,
    "flag: bool": False,
    "nothing: int | None": None,
    "text: str": "quotes \" ' back\\slash\nnew line, tab\t, unicode é 日本 😀, braces {seed}",
    "empty: str": "",
    "numbers: list[int]": [3, 4],
    "nested: list[list[float]]": [[1.5], []],
    "mapping: dict[str, int]": {"a": 1, "": 2, "b c": 3},
    "deep: dict": {"a": [{"b": [None, True, 1.25, "x"]}]},
    "anything": [1, "two", None],
}


def test_the_value_in_the_kernel_is_the_value_in_params_json_with_its_type(tmp_path):
    """papermill writes each value into the notebook as Python; it must read back as what params.json says."""
    cell = "\n".join(f"{name.split(':')[0]}{':' + name.split(':')[1] if ':' in name else ''} = None" for name in VALUES)
    names = [name.split(":")[0] for name in VALUES]
    probe = (
        "import json, kit\n"
        f"values = {{name: globals()[name] for name in {names!r}}}\n"
        "kit.artifact_path('seen.json').write_text(json.dumps(values))\n"
        "kit.artifact_path('types.json').write_text(json.dumps({k: type(v).__name__ for k, v in values.items()}))"
    )
    notebook = write_notebook(tmp_path / "values.ipynb", cell, probe)
    given = {name.split(":")[0]: value for name, value in VALUES.items()}
    run = kit.run(notebook, given, runs_dir=tmp_path / "runs")
    seen = read(run.path / "artifacts" / "seen.json")
    assert seen == run.params == given
    types = read(run.path / "artifacts" / "types.json")
    assert types == {name: type(value).__name__ for name, value in given.items()}


def test_a_failed_run_is_recorded_with_its_failing_cell(tmp_path):
    notebook = write_notebook(tmp_path / "fail.ipynb", "x = 1", "print('before')", "raise ValueError('bad x')", "1")
    result = kit_command("run", notebook, cwd=tmp_path)
    assert result.returncode == 1
    run = tmp_path / last_line(result.stdout)
    status = read(run / "status.json")
    assert status["status"] == "failed"
    assert status["failure"] == {"cell_index": 2, "execution_count": 3, "ename": "ValueError", "evalue": "bad x"}
    assert last_line(result.stderr).startswith("error: cell 2 (In [3]) failed with ValueError: bad x")
    outputs = [cell.get("outputs") for cell in read(run / "notebook.ipynb")["cells"] if cell["cell_type"] == "code"]
    assert outputs[1][0]["text"] == ["before\n"]  # the partial notebook keeps what ran
    assert {path.name for path in run.iterdir()} == RECORD


def test_a_cell_that_outlasts_the_timeout_fails_the_run(tmp_path):
    notebook = write_notebook(tmp_path / "slow.ipynb", None, "1", "import time; time.sleep(60)")
    with pytest.raises(RunFailed) as failed:
        kit.run(notebook, runs_dir=tmp_path / "runs", timeout=1.5)
    assert failed.value.failure.ename == "CellTimeoutError" and failed.value.failure.cell_index == 1
    assert "--timeout" in str(failed.value)
    run = kit.find_run(failed.value.run_dir)
    assert run.status is RunStatus.FAILED and run.info.invocation.timeout == 1.5


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
    assert sorted(run.params["scale"] for run in list_runs(tmp_path / "runs")) == [1, 2, 3, 4]
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


def _partial(runs: Path, name: str) -> bool:
    return any(runs.glob(f"{layout.PARTIAL_PREFIX}*{layout.PARTIAL_SUFFIX}/{name}"))


def test_ctrl_c_records_an_interrupted_run_and_exits_130(tmp_path):
    notebook = write_notebook(
        tmp_path / "long.ipynb", None, "import kit; kit.log_metric('started', 1)", "import time; time.sleep(60)"
    )
    process = subprocess.Popen(
        ["kit", "run", str(notebook)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    runs = tmp_path / "runs"
    wait_for(lambda: _partial(runs, "metrics.json"), 60, "the first metric")
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    run = tmp_path / last_line(stdout)
    status = read(run / "status.json")
    assert status["status"] == "interrupted" and status["failure"]["cell_index"] == 1
    assert read(run / "metrics.json") == {"started": 1}
    assert not list(runs.glob(".*"))  # no hidden partial run left behind


def test_a_killed_run_never_looks_complete_and_is_listed_as_abandoned(tmp_path):
    notebook = write_notebook(tmp_path / "long.ipynb", None, "import time; time.sleep(60)")
    process = subprocess.Popen(
        ["kit", "run", str(notebook)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    runs = tmp_path / "runs"
    wait_for(lambda: _partial(runs, "params.json"), 60, "the run to start")
    process.kill()
    process.wait()
    assert [path.name for path in runs.iterdir() if not path.name.startswith(".")] == []
    listed = kit_command("runs", cwd=tmp_path).stdout.splitlines()
    assert len(listed) == 3 and listed[1].split()[2] == "abandoned" and "kit runs clean" in listed[2]


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


def test_generated_ids_do_not_collide(tmp_path):
    from kit.record.store import reserve

    reservations = [reserve(tmp_path / "runs", None, "same") for _ in range(200)]
    assert len({reservation.run_id for reservation in reservations}) == 200
