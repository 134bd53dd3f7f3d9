"""Where two runs part: the first cell whose outputs differ, and the recorded factors that differ (issue 19)."""

from __future__ import annotations

import pytest

import kit
from kit.record.divergence import first_difference
from tests.utils.commands import kit as kit_command
from tests.utils.notebooks import write_notebook
from tests.utils.paths import NOTEBOOKS


def _notebook(*cells: list[dict]) -> dict:
    """A notebook of code cells, each given as its outputs, numbered as a kernel numbers them."""
    code = [{"cell_type": "code", "execution_count": n, "source": "", "metadata": {}, "outputs": outputs}
            for n, outputs in enumerate(cells, 1)]  # fmt: skip
    return {"cells": [{"cell_type": "markdown", "source": "# title", "metadata": {}}, *code]}


def _out(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def _result(plain: str, html: str = "", count: int = 1) -> dict:
    data = {"text/plain": plain, **({"text/html": html} if html else {})}
    return {"output_type": "execute_result", "execution_count": count, "data": data, "metadata": {}}


SAME = {
    "stream split differently": ([_out("loss 1\n"), _out("acc 2\n")], [_out("loss 1\nacc 2\n")]),
    "execution counts": ([_result("3", count=1)], [_result("3", count=9)]),
    "durations": ([_out("2/2 - 1s 15ms/step - loss 0.5\n")], [_out("2/2 - 3s 150ms/step - loss 0.5\n")]),
    "time stamps": ([_out("at 2026-12-02 10:11:12.5 ok\n")], [_out("at 2026-12-03T01:02:03 ok\n")]),
    "memory addresses": ([_result("<Model at 0x7f3a2b1c0d90>")], [_result("<Model at 0x7f99aa11bb22>")]),
    "progress redrawn": ([_out("1/3\r2/3\r3/3 done\n")], [_out("3/3 done\n")]),
    "backspaces": ([_out("[==  ]\b\b\b\b\b\b[====] done\n")], [_out("[====] done\n")]),
    "html beside text": ([_result("Pipeline", "<div id='sk-1'>")], [_result("Pipeline", "<div id='sk-2'>")]),
    "tensorflow log prefix": (
        [_out("E0000 00:00:1796207161.438893      11 op.cc:682] x\n", "stderr")],
        [_out("E0000 00:00:1796207190.331910     153 op.cc:682] x\n", "stderr")],
    ),
}


@pytest.mark.parametrize("a, b", SAME.values(), ids=SAME.keys())
def test_what_changes_with_every_execution_is_no_difference(a, b):
    assert first_difference(_notebook([], a), _notebook([], b)) is None


def test_the_runs_own_directory_in_an_output_is_no_difference():
    a = _notebook([_result("PosixPath('runs/.r1.partial/artifacts/model.skops')")])
    b = _notebook([_result("PosixPath('runs/.r1.verify-9f+2.partial/artifacts/model.skops')")])
    assert first_difference(a, b, ("r1", "r1.verify-9f")) is None
    assert first_difference(a, b) is not None


def test_the_first_differing_cell_is_named_with_both_excerpts():
    a = _notebook([_out("ready\n")], [_out("epoch 1: loss 0.1101596\n")], [_out("accuracy 0.9\n")])
    b = _notebook([_out("ready\n")], [_out("epoch 1: loss 0.1101570\n")], [_out("accuracy 0.8\n")])
    found = first_difference(a, b)
    assert (found.index, found.execution_count) == (2, 2)
    assert (found.a, found.b) == ("'epoch 1: loss 0.1101596'", "'epoch 1: loss 0.1101570'")


def test_standard_error_counts_only_when_nothing_else_differs():
    a = _notebook([_out("warning A\n", "stderr")], [_out("x 1\n")])
    b = _notebook([_out("warning B\n", "stderr")], [_out("x 2\n")])
    assert first_difference(a, b).index == 2
    assert first_difference(a, _notebook([_out("warning B\n", "stderr")], [_out("x 1\n")])).index == 1


def test_a_long_output_is_cut_around_where_it_differs():
    a = _notebook([_out("x" * 5000 + "A" + "y" * 5000)])
    found = first_difference(a, _notebook([_out("x" * 5000 + "B" + "y" * 5000)]))
    assert len(found.a) < 100 and "A" in found.a and "B" in found.b


def test_verify_names_the_cell_that_draws_from_an_unseeded_source(tmp_path):
    notebook = write_notebook(
        tmp_path / "unseeded.ipynb",
        None,
        "import kit\nprint('loading')",
        "import os\ndraw = int.from_bytes(os.urandom(4))\nprint('draw', draw)",
        "kit.log_metric('draw', draw)",
    )
    run = kit.run(notebook, runs_dir=tmp_path / "runs")
    result = kit_command("verify", run.id, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    where = next(line for line in result.stdout.splitlines() if line.startswith("where: "))
    assert where.startswith("where: first difference at cell 1 (In [2]): 'draw ")
    assert "nothing kit records differs" in where
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: run {run.id} did not reproduce: first difference at cell 1 (In [2])")


def test_runs_on_different_data_name_the_cell_and_the_input(tmp_path):
    data = tmp_path / "data.csv"
    notebook = write_notebook(
        tmp_path / "mean.ipynb", None, "import pandas as pd\nprint('mean', pd.read_csv('data.csv')['x'].mean())"
    )
    for run_id, values in (("one", "x\n1\n2\n"), ("two", "x\n1\n3\n")):
        data.write_text(values)
        kit.run(notebook, runs_dir=tmp_path / "runs", run_id=run_id)
    result = kit_command("runs", "diff", "one", "two", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    where = result.stdout.strip().splitlines()[-1]
    assert where.startswith("where: first difference at cell 0 (In [1]): 'mean 1.5' → 'mean 2.0'; differs: "), where
    assert "inputs data.csv " in where, where


def test_runs_diff_of_the_digits_cnn_on_one_and_two_threads_names_the_cell_and_threads(tmp_path):
    """The shipped CNN notebook, two epochs: two thread counts split TensorFlow's sums differently."""
    notebook = NOTEBOOKS / "train_images.ipynb"
    for threads in (1, 2):
        ran = kit_command("run", notebook, "-p", "epochs", "2", "--threads", str(threads), "--run-id", f"t{threads}",
                          "--runs-dir", tmp_path / "runs", cwd=tmp_path)  # fmt: skip
        assert ran.returncode == 0, ran.stderr
    result = kit_command("runs", "diff", "t1", "t2", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    where = result.stdout.strip().splitlines()[-1]
    training = kit.find_run("t1", tmp_path / "runs").notebook.cells
    index = next(i for i, cell in enumerate(training) if "model.fit(" in "".join(cell.source))
    assert where.startswith(f"where: first difference at cell {index} (In ["), where
    assert "'epoch " in where and where.endswith("differs: threads 1 → 2"), where
