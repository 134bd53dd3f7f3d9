"""The command line's wiring, in-process and fast: click's CliRunner with the engine replaced.

These check what the CLI does itself: parse, convert text to the parameters' types, merge `-f` files and `-p`,
pass options through, print, and map errors to one line and an exit code. What the engine does with a plan is
tested for real, with kernels, in test_run.py and test_bad_input.py.
"""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from kit import running
from kit.cli import main
from kit.errors import RunFailed
from kit.record.schema import Failure
from tests.utils.notebooks import write_notebook


class Recorded:
    """Stands in for the engine: keeps the plan it is given, returns a run-like value or raises."""

    def __init__(self, raises: Exception | None = None) -> None:
        self.plans, self.raises = [], raises

    def __call__(self, plan, *, progress=False):
        self.plans.append(plan)
        if self.raises:
            raise self.raises
        return type("FakeRun", (), {"path": plan.runs_dir / "the-run"})()


@pytest.fixture
def engine(monkeypatch):
    """The engine, replaced: no kernel starts, nothing is written."""
    recorded = Recorded()
    monkeypatch.setattr(running, "execute", recorded)
    return recorded


@pytest.fixture
def notebook(tmp_path):
    return write_notebook(
        tmp_path / "nb.ipynb", "seed = 0\nrate: float = 0.1\nlayers: list[int] = [8]\nname = 'a'\nflag = False", "1"
    )


def test_text_is_converted_to_each_parameters_type(engine, notebook, tmp_path):
    result = run_main("run", str(notebook), "-p", "seed", "3", "-p", "rate", "1e-3", "-p", "layers", "[4, 2]",
                      "-p", "name", "42", "-p", "flag", "yes", "--runs-dir", str(tmp_path / "runs"))  # fmt: skip
    assert result.exit_code == 0, result.output
    (plan,) = engine.plans
    assert plan.invocation.parameters == {"seed": 3, "rate": 0.001, "layers": [4, 2], "name": "42", "flag": True}
    assert plan.params["seed"] == 3 and plan.invocation.hash_seed == "3"
    assert result.stdout.strip() == str(tmp_path / "runs" / "the-run")


def test_p_overrides_f_and_options_reach_the_plan(engine, notebook, tmp_path):
    (tmp_path / "a.yaml").write_text("seed: 1\nrate: 0.5\n")
    (tmp_path / "b.yaml").write_text("seed: 2\n")
    result = run_main("run", str(notebook), "-f", str(tmp_path / "a.yaml"), "-f", str(tmp_path / "b.yaml"),
                      "-p", "rate", "0.25", "--run-id", "mine", "--timeout", "1.5", "--threads", "3",
                      "--runs-dir", str(tmp_path / "runs"))  # fmt: skip
    assert result.exit_code == 0, result.output
    (plan,) = engine.plans
    assert plan.invocation.parameters == {"seed": 2, "rate": 0.25}
    assert (plan.run_id, plan.invocation.timeout, plan.invocation.threads.intra_op) == ("mine", 1.5, 3)
    assert plan.invocation.threads.source == "given"


def test_a_failed_run_prints_its_directory_then_one_error_line(monkeypatch, notebook, tmp_path):
    failure = Failure("ValueError", "bad x", 2, 3)
    monkeypatch.setattr(running, "execute", Recorded(RunFailed(tmp_path / "runs" / "r1", failure)))
    result = run_main("run", str(notebook), "--runs-dir", str(tmp_path / "runs"))
    assert result.exit_code == 1
    assert result.stdout.strip() == str(tmp_path / "runs" / "r1")
    where = tmp_path / "runs" / "r1"
    assert (
        result.stderr.strip()
        == f"error: cell 2 (In [3]) failed with ValueError: bad x; the record is in {where} (kit report)"
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["run"], 2, "error: Missing argument 'NOTEBOOK'. (see `kit run --help`)", id="missing-argument"),
        pytest.param(["nope"], 2, "error: No such command 'nope'. (see `kit --help`)", id="unknown-command"),
        pytest.param(["run", "x.ipynb", "-p", "a"], 2, "requires 2 arguments", id="p-needs-two"),
        pytest.param(["runs", "show"], 2, "Missing argument 'RUN'", id="show-needs-a-run"),
    ],
)
def test_clicks_usage_errors_are_one_line(engine, args, code, message):
    result = run_main(*args)
    assert result.exit_code == code
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert engine.plans == []


def test_help_and_version_exit_0():
    assert run_main("--help").exit_code == 0 and "Exit codes" in run_main("--help").stdout
    assert run_main("--version").stdout.startswith("kit, version ")


def run_main(*args: str):
    """``kit ARGS`` in this process, through main() as the console script calls it: exit code, stdout, stderr."""
    runner = CliRunner()
    return runner.invoke(_Main(), list(args))


class _Main:
    """main() as CliRunner can invoke it: CliRunner passes the arguments, main() reads them from sys.argv."""

    name = "kit"

    def main(self, args, prog_name=None, **extra):
        saved, sys.argv = sys.argv, ["kit", *args]
        try:
            main()
        finally:
            sys.argv = saved
