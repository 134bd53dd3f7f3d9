"""Inputs recorded without asking: every file a run's kernel reads, in inputs.json; checked by ``kit verify`` first.

Real kernels reading real files: pandas, NumPy, ``open()``, TensorFlow (seen only when declared); the exclusions;
hostile inputs to the capture (FIFOs, devices, unreadable files, links, files deleted or replaced, paths that are
not UTF-8, 10,000 files), each recorded sensibly and never failing the run.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import kit
from kit import settings
from kit.exits import ExitCode
from kit.record import layout
from tests.utils.commands import kit as kit_command
from tests.utils.commands import last_line
from tests.utils.notebooks import write_notebook


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def by_path(run) -> dict:
    return {entry.path: entry for entry in run.inputs}


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """One run whose notebook reads files every way a notebook does, with a folder of it excluded (one kernel)."""
    root = tmp_path_factory.mktemp("reader")
    (root / "patients.csv").write_text("age,sick\n30,0\n70,1\n")
    (root / "scratch").mkdir()
    (root / "scratch" / "cache.txt").write_text("not an input")
    (root / "notes.txt").write_text("read twice")
    (root / "tf_only.txt").write_text("seen by TensorFlow alone\n")
    (root / "tf_declared.txt").write_text("declared to kit\n")
    import numpy

    numpy.save(root / "weights.npy", numpy.arange(4))
    notebook = write_notebook(
        root / "reader.ipynb",
        None,
        "import os, pandas, numpy, kit\n"
        "frame = pandas.read_csv('patients.csv')\n"
        "weights = numpy.load('weights.npy')\n"
        "text = open('notes.txt').read() + open('notes.txt', 'rb').read().decode()\n"
        "text += open(os.path.abspath('notes.txt')).read()\n"
        "open('scratch/cache.txt').read()",
        "from sklearn.datasets import load_iris\niris = load_iris()",
        "import tensorflow as tf\n"
        "tf.io.read_file('tf_only.txt').numpy()\n"
        "list(tf.data.TextLineDataset(kit.input_path('tf_declared.txt')))\n"
        "kit.log_input('postgres://db/patients', 'rows=2,max_id=2')",
    )
    os.environ[settings.INPUTS_EXCLUDE_ENV] = str(root / "scratch")
    try:
        run = kit.run(notebook, runs_dir=root / "runs", threads=1)
    finally:
        del os.environ[settings.INPUTS_EXCLUDE_ENV]
    return root, run


def test_files_read_with_pandas_numpy_and_open_are_recorded_with_their_hash(reader):
    root, run = reader
    inputs = by_path(run)
    for name in ("patients.csv", "weights.npy", "notes.txt"):
        entry = inputs[name]
        assert entry.resolved == str((root / name).resolve())
        assert entry.sha256 == sha256(root / name) and entry.size == (root / name).stat().st_size
        assert entry.mtime and not entry.changed and not entry.written and not entry.declared
    assert (run.path / layout.INPUTS).is_file() and not (run.path / layout.INPUTS_LOG).exists()


def test_a_file_opened_three_times_is_recorded_and_hashed_once(reader):
    _, run = reader
    assert [entry.resolved for entry in run.inputs].count(by_path(run)["notes.txt"].resolved) == 1


JOURNAL_CELL = (
    "import json, os, threading, time\n"
    "from kit import settings\n"
    "from kit.record import layout\n"
    "journal = os.path.join(os.environ[settings.RUN_DIR_ENV], layout.INPUTS_LOG)\n"
    "def events(name):\n"
    "    with open(journal, 'rb') as file:  # the run's own record: never an input\n"
    "        found = [json.loads(line) for line in file]\n"
    "    return [event for event in found if event.get('abs', '').endswith(name)]"
)


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    """One run whose notebook watches the record's journal while it reads a large file, and one file from 8 threads."""
    root = tmp_path_factory.mktemp("watched")
    (root / "large.bin").write_bytes(os.urandom(3 << 20))  # over the size the kernel hashes itself
    (root / "shared.txt").write_text("read by every thread")
    notebook = write_notebook(
        root / "watched.ipynb",
        None,
        JOURNAL_CELL,
        "open('large.bin', 'rb').read(16)\n"
        "deadline = time.monotonic() + 120\n"
        "while not any('sha256' in event for event in events('large.bin')) and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "assert [event.get('sha256') is None for event in events('large.bin')] == [True, False], events('large.bin')",
        "start = threading.Barrier(8)\n"
        "def reader():\n"
        "    start.wait()\n"
        "    for _ in range(50):\n"
        "        open('shared.txt').read()\n"
        "threads = [threading.Thread(target=reader) for _ in range(8)]\n"
        "for thread in threads:\n"
        "    thread.start()\n"
        "for thread in threads:\n"
        "    thread.join()\n"
        "assert len(events('shared.txt')) == 1 and events('shared.txt')[0]['sha256'], events('shared.txt')",
    )
    return root, kit.run(notebook, runs_dir=root / "runs", threads=1, timeout=300)


def test_a_large_file_is_hashed_by_kit_while_the_notebook_goes_on(watched):
    """The kernel notes it unhashed; kit run's own process hashes it while the cells still run (not at the end)."""
    root, run = watched
    assert run.succeeded, run.info.failure
    assert by_path(run)["large.bin"].sha256 == sha256(root / "large.bin")


def test_a_file_opened_from_many_threads_at_once_is_noted_and_hashed_once(watched):
    root, run = watched
    assert run.succeeded, run.info.failure
    assert by_path(run)["shared.txt"].sha256 == sha256(root / "shared.txt")


def test_exclusions_the_environment_and_the_record_are_left_out(reader):
    root, run = reader
    resolved = [entry.resolved or "" for entry in run.inputs]
    assert not any(path.startswith(str(root / "scratch")) for path in resolved)  # $KIT_INPUTS_EXCLUDE
    assert not any("site-packages" in path or "iris" in path for path in resolved)  # sklearn's dataset
    assert not any(path.startswith(("/proc", "/sys", "/dev", "/usr", "/etc")) for path in resolved)
    assert not any(path.startswith(str(run.path)) or path.endswith(".pyc") for path in resolved)


def test_a_read_only_tensorflow_sees_is_recorded_only_when_declared(reader):
    root, run = reader
    inputs = by_path(run)
    assert "tf_only.txt" not in inputs  # TensorFlow's C++ reader: Python never sees the open
    declared = inputs["tf_declared.txt"]
    assert declared.declared and declared.sha256 == sha256(root / "tf_declared.txt")
    table = inputs["postgres://db/patients"]
    assert table.kind == "declared" and table.digest == "rows=2,max_id=2" and table.sha256 is None


def test_runs_show_and_report_list_the_inputs(reader):
    root, run = reader
    shown = kit_command("runs", "show", run.path, cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert (
        f"patients.csv  {(root / 'patients.csv').stat().st_size} bytes  sha256 {sha256(root / 'patients.csv')[:16]}"
        in shown.stdout
    )
    assert "postgres://db/patients  digest rows=2,max_id=2  (declared)" in shown.stdout
    report = kit.report(run, root / "report.html")
    html = report.read_text()
    assert "<h2>Inputs</h2>" in html and "weights.npy" in html and sha256(root / "weights.npy")[:12] in html


# kit verify checks the inputs before it runs anything


@pytest.fixture
def verifiable(tmp_path):
    """A quick succeeded run that read data.csv with open() (no metric depends on it); its folder and the run."""
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    notebook = write_notebook(tmp_path / "read.ipynb", None, "rows = open('data.csv').read().splitlines()")
    result = kit_command("run", notebook, "--runs-dir", "runs", "--threads", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path, tmp_path / last_line(result.stdout)


def runs_in(folder: Path) -> set[str]:
    return {path.name for path in (folder / "runs").iterdir()}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param(lambda path: path.write_text("a,b\n1,3\n"), "changed", id="one-byte-changed"),
        pytest.param(lambda path: path.unlink(), "is missing", id="deleted"),
        pytest.param(lambda path: path.chmod(0), "cannot be read", id="made-unreadable"),
    ],
)
def test_verify_refuses_a_changed_or_missing_input_before_running_anything(verifiable, change, problem):
    folder, run = verifiable
    data = folder / "data.csv"
    recorded = sha256(data)
    change(data)
    before = runs_in(folder)
    result = kit_command("verify", run.name, "--runs-dir", "runs", cwd=folder)
    assert result.returncode == ExitCode.INPUTS_CHANGED == 5
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: input ") and len(lines[0]) < 300, result.stderr
    assert str(data) in lines[0] and problem in lines[0] and recorded[:16] in lines[0]
    if problem == "changed":
        assert sha256(data)[:16] in lines[0]
    assert "--ignore-inputs" in lines[0] and "Traceback" not in result.stderr
    assert runs_in(folder) == before  # nothing was run


def test_verify_ignore_inputs_runs_anyway_and_shows_the_input_that_differs(verifiable):
    folder, run = verifiable
    (folder / "data.csv").write_text("a,b\n1,3\n")
    result = kit_command("verify", run.name, "--runs-dir", "runs", "--ignore-inputs", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "inputs: 1 differ" in result.stdout and "data.csv" in result.stdout


def test_a_touched_input_still_verifies(verifiable):
    folder, run = verifiable
    data = folder / "data.csv"
    os.utime(data, (1_000_000_000, 1_000_000_000))
    result = kit_command("verify", run.name, "--runs-dir", "runs", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "reproduced:" in result.stdout and "inputs: same" in result.stdout


def test_runs_diff_names_the_data_two_runs_read(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n2\n")
    notebook = write_notebook(
        tmp_path / "pick.ipynb", "data_path = 'a.csv'", "import pandas\npandas.read_csv(data_path)"
    )
    a = kit.run(notebook, runs_dir=tmp_path / "runs", threads=1)
    b = kit.run(notebook, {"data_path": "b.csv"}, runs_dir=tmp_path / "runs", threads=1)
    result = kit_command("runs", "diff", a.id, b.id, "--runs-dir", "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "inputs: 2 differ" in result.stdout
    assert f"a.csv: {sha256(tmp_path / 'a.csv')[:8]}" in result.stdout
    assert f"b.csv: (absent) -> {sha256(tmp_path / 'b.csv')[:8]}" in result.stdout


# Hostile inputs to the capture: each recorded sensibly, and the run succeeds

FILES = 10_000
BAD_NAME = b"bad\xff name.txt"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """One run whose notebook does every awkward thing to the capture; the run must succeed (one kernel)."""
    root = tmp_path_factory.mktemp("hostile")
    os.mkfifo(root / "pipe")
    (root / "locked.txt").write_text("secret")
    (root / "locked.txt").chmod(0)
    (root / "target.txt").write_text("behind a link")
    (root / "link.txt").symlink_to(root / "target.txt")
    (root / "urandom").symlink_to("/dev/urandom")
    (root / "doomed.txt").write_text("deleted by the notebook")
    (root / "replaced.txt").write_text("replaced by the notebook")
    (root / "grows.txt").write_text("appended to by the notebook")
    (root / "new\nline.txt").write_text("a newline in the name")
    (Path(os.fsdecode(bytes(root) + b"/" + BAD_NAME))).write_text("not UTF-8")
    many = root / "many"
    many.mkdir()
    for index in range(FILES):
        (many / f"{index:05}.txt").write_text(str(index))
    notebook = write_notebook(
        root / "hostile.ipynb",
        None,
        "import os, kit\nos.close(os.open('pipe', os.O_RDONLY | os.O_NONBLOCK))",
        "try:\n    open('locked.txt').read()\nexcept PermissionError:\n    pass",
        "open('link.txt').read()",
        "open('urandom', 'rb').read(16)\nkit.input_path('/dev/urandom')",
        "open('doomed.txt').read(); os.remove('doomed.txt')",
        "open('replaced.txt').read()\nopen('replaced.tmp', 'w').write('another file')\n"
        "os.replace('replaced.tmp', 'replaced.txt')",
        "open('grows.txt').read()\nwith open('grows.txt', 'a') as f:\n    f.write(' and more')",
        "open('new\\nline.txt').read()",
        f"open({BAD_NAME!r}, 'rb').read()",
        f"total = sum(len(open(f'many/{{i:05}}.txt').read()) for i in range({FILES}))",
        "open('written.txt', 'w').write('made by the run')\nopen('written.txt').read()",
    )
    run = kit.run(notebook, runs_dir=root / "runs", threads=1, timeout=600)
    return root, run


def _entry(run, name: str):
    found = [entry for entry in run.inputs if entry.path == name]
    assert len(found) == 1, [entry.path for entry in run.inputs][:20]
    return found[0]


def fifo(root, run):
    entry = _entry(run, "pipe")
    assert entry.type == "fifo" and entry.sha256 is None and "not hashed" in entry.note


def device_behind_a_link(root, run):
    assert not [entry for entry in run.inputs if entry.path == "urandom"]  # it resolves into /dev: left out
    entry = _entry(run, "/dev/urandom")  # declared: recorded, never read
    assert entry.declared and entry.type == "character device" and entry.sha256 is None


def unreadable(root, run):
    entry = _entry(run, "locked.txt")
    assert entry.sha256 is None and "Permission denied" in entry.note and not entry.checkable


def symlink(root, run):
    entry = _entry(run, "link.txt")
    assert entry.resolved == str(root / "target.txt") and entry.sha256 == sha256(root / "target.txt")


def deleted(root, run):
    entry = _entry(run, "doomed.txt")
    assert entry.changed and "deleted" in entry.note


def replaced(root, run):
    entry = _entry(run, "replaced.txt")
    assert entry.changed and entry.note


def appended(root, run):
    entry = _entry(run, "grows.txt")
    assert entry.changed and entry.sha256 != sha256(root / "grows.txt")


def newline_in_the_name(root, run):
    entry = _entry(run, "new\nline.txt")
    assert entry.sha256 == sha256(root / "new\nline.txt")


def not_utf8(root, run):
    entry = _entry(run, "bad\\xff name.txt")
    assert entry.fs_path == bytes(root) + b"/" + BAD_NAME
    assert entry.sha256 == hashlib.sha256(b"not UTF-8").hexdigest() and entry.checkable


def ten_thousand_files(root, run):
    many = [entry for entry in run.inputs if entry.path.startswith("many/")]
    assert len(many) == FILES and all(entry.sha256 for entry in many)


def written_then_read(root, run):
    entry = _entry(run, "written.txt")
    assert entry.written and not entry.checkable


@pytest.mark.parametrize(
    "check",
    [
        fifo,
        device_behind_a_link,
        unreadable,
        symlink,
        deleted,
        replaced,
        appended,
        newline_in_the_name,
        not_utf8,
        ten_thousand_files,
        written_then_read,
    ],  # fmt: skip
    ids=lambda check: check.__name__.replace("_", "-"),
)
def test_hostile_input_is_recorded_sensibly_and_never_fails_the_run(hostile, check):
    root, run = hostile
    assert run.succeeded
    check(root, run)


def test_verify_skips_what_cannot_be_compared_and_checks_the_rest(hostile):
    """FIFOs, unreadable files, files the run wrote, declared inputs never make verify refuse; changed ones do."""
    from kit.record.inputs import check_now

    root, run = hostile
    differences = {difference.input.path: difference.problem for difference in check_now(run.inputs)}
    assert differences == {"doomed.txt": "is missing", "replaced.txt": "changed", "grows.txt": "changed"}


def test_capture_off_records_only_declared_inputs(tmp_path, monkeypatch):
    (tmp_path / "seen.txt").write_text("x")
    notebook = write_notebook(
        tmp_path / "off.ipynb", None, "import kit\nopen('seen.txt').read()\nkit.log_input('t', 'v')"
    )
    monkeypatch.setenv(settings.CAPTURE_INPUTS_ENV, "off")
    run = kit.run(notebook, runs_dir=tmp_path / "runs", threads=1)
    assert [entry.path for entry in run.inputs] == ["t"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: kit.input_path("no/such/file.csv"), "no such file or folder", id="missing-path"),
        pytest.param(lambda: kit.input_path(3.5), "is not a path", id="not-a-path"),
        pytest.param(lambda: kit.log_input("", "v"), "is not a name", id="empty-name"),
        pytest.param(lambda: kit.log_input("t", None), "is not a digest", id="no-digest"),
        pytest.param(lambda: kit.log_input("t", "x" * 10_000), "is not a digest", id="huge-digest"),
    ],
)
def test_declaring_something_that_is_not_an_input_is_one_clear_error(call, message):
    with pytest.raises(kit.KitError, match=message) as raised:
        call()
    assert len(str(raised.value)) < 300


def test_a_run_recorded_before_inputs_reads_as_having_none(verifiable):
    _, run_path = verifiable
    (run_path / layout.INPUTS).unlink()
    assert kit.find_run(run_path).check().inputs == ()


def test_a_damaged_inputs_file_is_a_damaged_record(verifiable):
    folder, run_path = verifiable
    (run_path / layout.INPUTS).write_text('{"inputs": [{"path": 3}]}')
    result = kit_command("verify", run_path.name, "--runs-dir", "runs", cwd=folder)
    assert result.returncode == ExitCode.USAGE and "inputs.json" in result.stderr, result.stderr


def test_a_sweep_shows_the_inputs_every_point_read_once(tmp_path):
    from kit.display import sweep as sweep_display

    for name, text in (("shared.csv", "x\n0\n"), ("a.csv", "x\n1\n"), ("b.csv", "x\n2\n")):
        (tmp_path / name).write_text(text)
    cell = "import pandas\npandas.read_csv('shared.csv')\npandas.read_csv(data_path)"
    notebook = write_notebook(tmp_path / "swept.ipynb", "data_path = 'a.csv'", cell)
    found = kit.sweep(notebook, {"data_path": ["a.csv", "b.csv"]}, workers=2, threads=1, runs_dir=tmp_path / "runs")
    summary = sweep_display.summarize(found)
    assert [row.path for row in summary.shared_inputs] == ["shared.csv"]
    assert [[entry.path for entry in row.inputs] for row in summary.rows] == [["a.csv"], ["b.csv"]]
    shown = sweep_display.table(summary)
    assert shown.count("shared.csv") == 1 and "inputs of every point:" in shown
    assert "inputs of point 0 only:" in shown and "inputs of point 1 only:" in shown
    html = sweep_display.report(found).read_text()
    assert html.count(">shared.csv<") == 1 and "Inputs of point 1 only" in html
