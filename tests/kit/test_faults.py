"""The fault table: what the machine does to a run (signals, kill -9, limits, a runs directory that turns on it,
records changed afterwards), with real kernels and real signals, and what kit promises for each (README: What
holds when the machine misbehaves).

Every case asserts the exit code, exactly one ``error:`` line (none when the command succeeds), no traceback, what
``kit runs`` shows, and that an earlier record in the same runs directory is byte-for-byte unchanged. Faults that
need a container's limits (a small tmpfs, a read-only mount, ``--memory``, ``docker stop``) are in
tests/by_image/kit/test_faults.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.utils.commands import kit, last_line, read
from tests.utils.containers import wait_for
from tests.utils.notebooks import write_notebook

#: The run every case's runs directory holds before the fault: it must come out of it byte-for-byte unchanged.
EARLIER = "earlier"
#: docker stop and Kubernetes send SIGKILL this long after SIGTERM.
GRACE = 10.0


def snapshot(root: Path) -> dict[str, str]:
    """The sha256 of every file under ``root`` by its relative path (and the folders, as empty entries)."""
    found = {}
    for path in sorted(root.rglob("*")):
        found[path.relative_to(root).as_posix()] = (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        )
    return found


@pytest.fixture(scope="module")
def earlier_runs(tmp_path_factory) -> Path:
    """A runs directory holding one finished run with an artifact, made once and copied into every case."""
    work = tmp_path_factory.mktemp("earlier")
    notebook = write_notebook(work / "earlier.ipynb", "seed = 0", "import kit\nkit.log_metric('m', 1)\n"
                              "kit.artifact_path('a.txt').write_text('earlier')")  # fmt: skip
    result = kit("run", notebook, "--run-id", EARLIER, "--runs-dir", "runs", cwd=work)
    assert result.returncode == 0, result.stderr
    return work / "runs"


@dataclass
class Case:
    """A case's working directory, its runs directory (holding the earlier run) and that run's hashes."""

    work: Path
    runs: Path
    before: dict[str, str]

    def unchanged(self) -> None:
        assert snapshot(self.runs / EARLIER) == self.before, "the earlier record changed"

    def listed(self) -> str:
        """``kit runs``: it succeeds, says nothing on stderr, and lists the earlier run as it was."""
        result = kit("runs", cwd=self.work)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert any(line.split()[:1] == [EARLIER] and "succeeded" in line for line in result.stdout.splitlines())
        return result.stdout

    def row(self, run_id: str) -> list[str]:
        rows = [line.split() for line in self.listed().splitlines() if line.split()[:1] == [run_id]]
        assert len(rows) == 1, f"{run_id} is listed {len(rows)} times"
        return rows[0]

    def hidden(self) -> list[Path]:
        return sorted(self.runs.glob(".*.partial"))


@pytest.fixture
def case(earlier_runs, tmp_path, monkeypatch) -> Case:
    """A working directory whose ./runs holds a copy of the earlier run, and kit finds it there."""
    runs = tmp_path / "runs"
    shutil.copytree(earlier_runs, runs)
    monkeypatch.chdir(tmp_path)
    return Case(tmp_path, runs, snapshot(runs / EARLIER))


def one_error(stderr: str) -> str:
    """The one ``error:`` line on stderr; never a traceback."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert len(errors[0]) < 300
    return errors[0]


def start(*args, work: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(["kit", *map(str, args)], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace", **kwargs)  # fmt: skip


def partial_has(runs: Path, name: str):
    return lambda: any(runs.glob(f".*.partial/{name}"))


# Signals during `kit run`: SIGTERM ends like Ctrl-C, with 143, within docker stop's grace.

SLEEPING = ("import kit; kit.log_metric('started', 1)", "import time; time.sleep(120)")
#: The last cell leaves a mark outside the record, then the kernel shuts down and the record is completed.
ENDING = ("import kit; kit.artifact_path('big.bin').write_bytes(bytes(96 << 20))",
          "import pathlib; pathlib.Path('ended.mark').touch()")  # fmt: skip


@pytest.mark.parametrize(
    ("sent", "moment", "code"),
    [
        pytest.param(signal.SIGTERM, "cell", 143, id="sigterm-during-a-cell"),
        pytest.param(signal.SIGINT, "cell", 130, id="sigint-during-a-cell"),
        pytest.param(signal.SIGTERM, "kernel-start", 143, id="sigterm-during-kernel-start"),
        pytest.param(signal.SIGINT, "kernel-start", 130, id="sigint-during-kernel-start"),
        pytest.param(signal.SIGTERM, "completing", 143, id="sigterm-while-the-record-is-completed"),
        pytest.param(signal.SIGINT, "completing", 130, id="sigint-while-the-record-is-completed"),
    ],
)
def test_a_signal_ends_in_a_visible_record_naming_it(case, sent, moment, code):
    notebook = write_notebook(case.work / "n.ipynb", None, *(ENDING if moment == "completing" else SLEEPING))
    process = start("run", notebook, work=case.work)
    if moment == "cell":
        wait_for(partial_has(case.runs, "metrics.json"), 60, "the first cell")
    elif moment == "kernel-start":
        wait_for(partial_has(case.runs, "params.json"), 60, "the run to start")
    else:
        wait_for(lambda: (case.work / "ended.mark").exists(), 60, "the last cell", interval=0.01)
    sent_at = time.monotonic()
    process.send_signal(sent)
    stdout, stderr = process.communicate(timeout=60)
    took = time.monotonic() - sent_at
    assert process.returncode == code, stderr
    said = one_error(stderr)
    assert said.startswith("error: terminated by SIGTERM" if sent == signal.SIGTERM else "error: interrupted")
    if sent == signal.SIGTERM:
        assert took < GRACE, f"took {took:.1f} s after SIGTERM"
    assert case.hidden() == []
    run = case.work / last_line(stdout)
    status = read(run / "status.json")
    if moment == "completing":  # every cell had run: recorded as it ended, or as interrupted while shutting down
        assert status["status"] in ("succeeded", "interrupted")
    else:
        assert status["status"] == "interrupted"
        assert status["failure"]["evalue"].startswith(signal.Signals(sent).name)
    assert case.row(run.name)[2] == status["status"]
    case.unchanged()


def test_kill_9_leaves_an_abandoned_run_that_clean_removes(case):
    notebook = write_notebook(case.work / "n.ipynb", "seed = 3", *SLEEPING)
    process = start("run", notebook, "--run-id", "killed", work=case.work)
    wait_for(partial_has(case.runs, "metrics.json"), 60, "the first cell")
    assert case.row("killed")[2] == "running"
    process.kill()
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert case.row("killed")[2] == "abandoned" and "kit runs clean" in case.listed()
    shown = kit("runs", "show", "killed", cwd=case.work)
    assert shown.returncode == 0 and "abandoned" in shown.stdout and "seed = 3" in shown.stdout, shown.stderr
    cleaned = kit("runs", "clean", cwd=case.work)
    assert cleaned.returncode == 0 and "removed abandoned run killed" in cleaned.stdout, cleaned.stderr
    assert case.hidden() == [] and "killed" not in case.listed()
    case.unchanged()


def test_clean_never_removes_a_running_run(case):
    notebook = write_notebook(case.work / "n.ipynb", None, "import time; time.sleep(8)")
    killed = start("run", write_notebook(case.work / "k.ipynb", None, *SLEEPING), "--run-id", "killed",
                   work=case.work)  # fmt: skip
    running = start("run", notebook, "--run-id", "alive", work=case.work)
    wait_for(partial_has(case.runs, "metrics.json"), 60, "the killed run's first cell")
    wait_for(lambda: len(case.hidden()) == 2, 60, "both runs to start")
    killed.kill()
    killed.communicate()
    cleaned = kit("runs", "clean", cwd=case.work)
    assert cleaned.returncode == 0 and "killed" in cleaned.stdout and "alive" not in cleaned.stdout
    assert case.row("alive")[2] == "running"
    stdout, stderr = running.communicate(timeout=120)
    assert running.returncode == 0 and "error:" not in stderr, stderr
    assert case.row("alive")[2] == "succeeded" and case.hidden() == []
    case.unchanged()


def test_a_kernel_killed_like_the_oom_killer_does_is_a_failed_run(case):
    notebook = write_notebook(case.work / "n.ipynb", None, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    result = kit("run", notebook, "--run-id", "oom", cwd=case.work)
    assert result.returncode == 1, result.stderr
    said = one_error(result.stderr)  # "(In [1])" only when the notebook was saved before the kernel died
    assert said.startswith("error: cell 0") and "failed with DeadKernelError" in said
    assert case.row("oom")[2] == "failed" and case.hidden() == []
    case.unchanged()


def test_the_kernel_cannot_start_under_a_file_limit(case):
    notebook = write_notebook(case.work / "n.ipynb", None, "print(1)")

    def few_files() -> None:  # kit itself gets by; the kernel, with its sockets and threads, does not
        resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))

    process = start("run", notebook, "--run-id", "limited", work=case.work, preexec_fn=few_files)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    said = one_error(stderr)
    assert "the kernel did not start" in said and "cell" not in said.split("the kernel did not start")[0]
    assert case.row("limited")[2] == "failed" and case.hidden() == []
    case.unchanged()


#: Enough for kit (its imports, the run's files), too few for the kernel and the ZeroMQ sockets it opens.
FILE_LIMIT = int(os.environ.get("KIT_TEST_FILE_LIMIT", "40"))


def test_12_concurrent_runs_in_one_runs_dir_each_keep_their_record(case):
    notebook = write_notebook(case.work / "n.ipynb", "seed = 0", "import kit; kit.log_metric('seed', seed)")
    processes = [start("run", notebook, "-p", "seed", seed, "--threads", "1", work=case.work) for seed in range(12)]
    paths = {}
    for seed, process in enumerate(processes):
        stdout, stderr = process.communicate(timeout=600)
        # On a loaded machine a kernel may not start within papermill's 60 s: a failed run, recorded as such.
        assert process.returncode in (0, 1), stderr
        if process.returncode:
            assert "the kernel did not start" in one_error(stderr)
        paths[seed] = case.work / last_line(stdout)
    assert len(set(paths.values())) == 12
    for seed, path in paths.items():
        status = read(path / "status.json")["status"]
        assert case.row(path.name)[2] == status
        assert status == "failed" or read(path / "metrics.json") == {"seed": seed}
    assert sum(read(path / "status.json")["status"] == "succeeded" for path in paths.values()) >= 6
    assert case.hidden() == []
    case.unchanged()


# A runs directory that stops taking writes (a read-only file system and a full one: tests/by_image/kit).


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder whatever its permissions")
def test_a_runs_dir_made_unwritable_during_a_run_exits_4_and_says_where_the_record_is(case):
    notebook = write_notebook(case.work / "n.ipynb", None, "import time; time.sleep(3)")
    process = start("run", notebook, "--run-id", "stuck", work=case.work)
    wait_for(partial_has(case.runs, "params.json"), 60, "the run to start")
    case.runs.chmod(0o555)
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        case.runs.chmod(0o755)
    assert process.returncode == 4, stderr
    said = one_error(stderr)
    assert "runs directory runs is no longer writable" in said and ".stuck.partial" in said and "writable" in said
    assert "abandoned" in case.row("stuck")
    assert kit("runs", "clean", cwd=case.work).returncode == 0 and case.hidden() == []
    again = kit("run", notebook, "--run-id", "stuck", cwd=case.work)
    assert again.returncode == 0, again.stderr
    case.unchanged()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder whatever its permissions")
def test_a_runs_dir_not_writable_before_the_run_is_a_usage_error(case):
    notebook = write_notebook(case.work / "n.ipynb", None, "print(1)")
    case.runs.chmod(0o555)
    try:
        result = kit("run", notebook, cwd=case.work)
    finally:
        case.runs.chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert "runs directory runs is not writable" in one_error(result.stderr)
    assert case.hidden() == [] and len(case.listed().splitlines()) == 2
    case.unchanged()


# Sweeps: SIGTERM and kill -9, then --resume; a record that lost the last half second.

SWEEP_CELL = "import kit, time\nkit.log_metric('seed', seed)\ntime.sleep(30 if seed in (0, 1) else 0)"


def sweep_record(work: Path) -> dict:
    return read(next((work / "runs" / "sweeps").glob("*/sweep.json")))


def test_a_sweep_terminated_by_sigterm_records_its_points_and_resumes(case):
    notebook = write_notebook(case.work / "s.ipynb", "seed = 0", SWEEP_CELL)
    process = start("sweep", notebook, "-p", "seed", "0,1,2,3", "--workers", "2", "--threads", "1", work=case.work)
    wait_for(lambda: len(list(case.runs.glob(".*.partial/metrics.json"))) >= 2, 120, "two points to run")
    sent_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert time.monotonic() - sent_at < GRACE
    assert one_error(stderr).startswith("error: terminated by SIGTERM")
    record = sweep_record(case.work)
    assert record["status"] == "interrupted"
    stopped = [point for point in record["points"] if point["status"] == "interrupted"]
    assert stopped and all(read(case.runs / point["runs"][-1] / "status.json")["failure"]["evalue"].startswith(
        "SIGTERM") for point in stopped)  # fmt: skip
    assert case.hidden() == []
    resumed = kit("sweep", "--resume", record["sweep_id"], "--workers", "2", cwd=case.work)
    assert resumed.returncode == 0 and "error:" not in resumed.stderr, resumed.stderr
    assert sweep_record(case.work)["status"] == "succeeded"
    case.unchanged()


def test_a_kubernetes_point_evicted_with_sigterm_is_recorded_as_interrupted(case):
    notebook = write_notebook(case.work / "s.ipynb", "seed = 0", SWEEP_CELL)
    emitted = kit("sweep", notebook, "-p", "seed", "0,1", "--emit-k8s", "k8s", cwd=case.work)
    assert emitted.returncode == 0, emitted.stderr
    process = start("sweep", "point", "k8s/sweep/sweep.json", "--index", "0", work=case.work)
    wait_for(partial_has(case.runs, "metrics.json"), 120, "the point's first cell")
    sent_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert time.monotonic() - sent_at < GRACE
    assert "interrupted" in one_error(stderr)
    run = case.runs / last_line(stdout)
    assert read(run / "status.json")["failure"]["evalue"].startswith("SIGTERM")
    assert case.row(run.name)[2] == "interrupted" and case.hidden() == []
    case.unchanged()


def test_a_sweep_killed_with_kill_9_shows_abandoned_points_and_resumes(case):
    notebook = write_notebook(case.work / "s.ipynb", "seed = 0", SWEEP_CELL)
    process = start("sweep", notebook, "-p", "seed", "0,1,2,3", "--workers", "2", "--threads", "1", work=case.work)
    wait_for(lambda: len(list(case.runs.glob(".*.partial/notebook.ipynb"))) >= 2, 120, "two points to run")
    process.kill()
    process.communicate()
    record = sweep_record(case.work)
    listed = case.listed()
    assert listed.count("abandoned") >= 2
    resumed = kit("sweep", "--resume", record["sweep_id"], "--workers", "2", cwd=case.work)
    assert resumed.returncode == 0 and "error:" not in resumed.stderr, resumed.stderr
    assert sweep_record(case.work)["status"] == "succeeded"
    assert "abandoned" in case.listed()  # the killed attempts stay visible until cleaned
    assert kit("runs", "clean", cwd=case.work).returncode == 0
    assert case.hidden() == [] and "abandoned" not in case.listed()
    case.unchanged()


# What sweep.json says of a point whose run finished in the half second before a kill: its first run id is listed
# from the start (the run may be listed as pending); a record that lost the id is reconciled too.
@pytest.mark.parametrize("listed", [True, False], ids=["run-listed-pending", "run-not-listed"])
def test_resume_reconciles_a_sweep_record_that_missed_a_finished_point(case, listed):
    notebook = write_notebook(case.work / "s.ipynb", "seed = 0", "print(seed)")
    result = kit("sweep", notebook, "-p", "seed", "0,1,2", "--workers", "1", "--threads", "1", cwd=case.work)
    assert result.returncode == 0, result.stderr
    path = next((case.runs / "sweeps").glob("*/sweep.json"))
    record = read(path)
    finished = record["points"][0]["runs"][0]
    record["status"] = "running"  # as a kill in the half second before sweep.json is rewritten leaves it
    record["points"][0] = {**record["points"][0], "runs": [finished] if listed else [], "status": "pending"}
    path.write_text(json.dumps(record))
    resumed = kit("sweep", "--resume", record["sweep_id"], cwd=case.work)
    assert resumed.returncode == 0 and "error:" not in resumed.stderr, resumed.stderr
    again = read(path)
    assert again["status"] == "succeeded"
    assert again["points"][0]["runs"] == [finished] and again["points"][0]["status"] == "succeeded"
    assert not list(case.runs.glob("*.r1"))
    case.unchanged()


# A record changed after its run: verify and show name the file; kit runs shows it damaged.

TAMPERING = {
    "changed": (lambda run: (run / "artifacts" / "a.txt").write_text("edited"), "artifacts/a.txt was changed"),
    "deleted": (lambda run: (run / "artifacts" / "a.txt").unlink(), "artifacts/a.txt is missing"),
    "added": (lambda run: (run / "artifacts" / "b.txt").write_text("new"), "artifacts/b.txt was added"),
}


@pytest.mark.parametrize("command", ["verify", "runs show"])
@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_a_record_changed_after_its_run_is_named_and_never_vouched_for(case, earlier_runs, tampering, command):
    notebook = write_notebook(case.work / "t.ipynb", None, "import kit; kit.artifact_path('a.txt').write_text('x')")
    assert kit("run", notebook, "--run-id", "tampered", cwd=case.work).returncode == 0
    change, said = TAMPERING[tampering]
    change(case.runs / "tampered")
    result = kit(*command.split(), "tampered", cwd=case.work)
    assert result.returncode == 2, result.stderr
    assert said in one_error(result.stderr) and "reproduced" not in result.stdout
    assert "damaged" in case.row("tampered")
    assert not list(case.runs.glob("tampered.verify*")) and case.hidden() == []
    case.unchanged()
