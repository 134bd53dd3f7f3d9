"""A damaged run record, file by file: every read command names the damaged file in one line and changes nothing.

`kit runs` still lists the healthy runs and marks the damaged one; `kit runs show`, `runs diff`, `verify` and
`report` exit 2 with one `error:` line naming the file; `kit verify` reads the whole record before it starts a
new run, so a damaged one never starts one.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import kit
from tests.utils.commands import kit as kit_command
from tests.utils.files import snapshot
from tests.utils.notebooks import write_notebook

#: For each file of a record, a value of the wrong shape: valid JSON that is not what the file must hold.
WRONG_SHAPE = {
    "status.json": lambda status: {key: value for key, value in status.items() if key != "invocation"},
    "params.json": lambda _: [1, 2],
    "metrics.json": lambda _: {"accuracy": "high"},
    "manifest.json": lambda _: {"model.skops": {"size": -1, "sha256": "x"}},
    "environment.json": lambda environment: {**environment, "git": ["not", "an", "object"]},
    "notebook.ipynb": lambda _: {"cells": 3},
}
DAMAGES = {
    "missing": lambda path: path.unlink(),
    "empty": lambda path: path.write_text(""),
    "not-json": lambda path: path.write_text('{"cut off in the midd'),
    "wrong-shape": lambda path: path.write_text(json.dumps(WRONG_SHAPE[path.name](json.loads(path.read_text())))),
    "unreadable": lambda path: path.chmod(0),
}
READERS = [
    ("runs", "show", "victim"),
    ("runs", "diff", "victim", "healthy"),
    ("verify", "victim"),
    ("report", "victim"),
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """Two real, succeeded runs: `healthy` and `victim`, made once and copied for each case."""
    folder = tmp_path_factory.mktemp("pristine")
    notebook = write_notebook(folder / "train.ipynb", "seed = 0", "import kit; kit.log_metric('accuracy', 0.5)")
    for name in ("healthy", "victim"):
        kit.run(notebook, runs_dir=folder / "runs", run_id=name)
    return folder


@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("name", list(WRONG_SHAPE))
def test_every_reader_names_the_damaged_file_and_changes_nothing(pristine, tmp_path, name, damage):
    work = tmp_path / "work"
    shutil.copytree(pristine, work)
    DAMAGES[damage](work / "runs" / "victim" / name)
    before = snapshot(work)

    listing = kit_command("runs", cwd=work)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
    assert "succeeded" in rows["healthy"]
    if name != "notebook.ipynb" or damage in ("missing", "empty", "unreadable"):  # a listing reads no notebook
        assert "damaged" in rows["victim"] and name in rows["victim"], listing.stdout

    with ThreadPoolExecutor(len(READERS)) as pool:
        results = list(pool.map(lambda args: kit_command(*args, cwd=work), READERS))
    for args, result in zip(READERS, results, strict=True):
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (args, result.stderr[-1000:])
        assert len(lines) == 1 and lines[0].startswith("error: run victim is damaged: " + name), (args, lines)
        assert len(lines[0]) < 300 and "restore" in lines[0]
    assert snapshot(work) == before  # nothing written, nothing changed, verify started no run
