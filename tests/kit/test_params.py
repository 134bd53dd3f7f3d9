"""Parameters: read from the parameters cell, checked before anything runs."""

import json
import subprocess

import pytest
from click.testing import CliRunner

from kit import params
from kit.cli import cli
from kit.errors import KitError, NotebookError, ParameterError
from tests.kit.conftest import write_notebook


def test_inspect_reads_types_defaults_and_help(typed_notebook):
    found = params.inspect(typed_notebook)
    assert list(found) == ["epochs", "learning_rate", "task", "shuffle", "layers", "data_path"]
    assert (found["epochs"].type, found["epochs"].default, found["epochs"].help) == ("int", 10, "passes over the data")
    assert (found["learning_rate"].type, found["learning_rate"].default) == ("float", 0.01)
    assert (found["task"].type, found["shuffle"].type, found["layers"].type) == ("str", "bool", "list")
    assert (found["data_path"].type, found["data_path"].default) == (None, None)


def test_resolve_converts_command_line_text_and_keeps_defaults(typed_notebook):
    given = {"epochs": "5", "learning_rate": "1e-3", "shuffle": "false", "layers": "[4]"}
    resolved = params.resolve(typed_notebook, given, from_text=frozenset(given))
    assert resolved == {
        "epochs": 5, "learning_rate": 0.001, "task": "diagnosis", "shuffle": False, "layers": [4], "data_path": None,
    }  # fmt: skip


def test_resolve_accepts_an_int_for_a_float(typed_notebook):
    assert params.resolve(typed_notebook, {"learning_rate": 1})["learning_rate"] == 1.0


@pytest.mark.parametrize(
    ("given", "error", "fragments"),
    [
        ({"epoch": 3}, ParameterError, ["unknown parameter 'epoch'", "valid ones are epochs, learning_rate"]),
        ({"epochs": "many"}, ParameterError, ["'epochs' expects int, got 'many'", "-p epochs 10"]),
        ({"epochs": 2.5}, ParameterError, ["'epochs' expects int"]),
        ({"epochs": True}, ParameterError, ["'epochs' expects int"]),
        ({"shuffle": "maybe"}, ParameterError, ["'shuffle' expects bool"]),
        ({"layers": "oops"}, ParameterError, ["'layers' expects list"]),
    ],
    ids=["unknown-name", "text-not-int", "float-for-int", "bool-for-int", "not-a-bool", "not-a-list"],
)
def test_bad_values_name_the_fix(typed_notebook, given, error, fragments):
    with pytest.raises(error) as raised:
        params.resolve(typed_notebook, given, from_text=frozenset(k for k, v in given.items() if isinstance(v, str)))
    for fragment in fragments:
        assert fragment in str(raised.value)


def bad_notebooks(tmp_path):
    (tmp_path / "not-json.ipynb").write_text("{ this is not json")
    (tmp_path / "not-nbformat.ipynb").write_text(json.dumps({"cells": "nope", "nbformat": 4}))
    write_notebook(tmp_path / "no-parameters.ipynb", None, "print(1)")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "given", "fragment"),
    [
        ("missing.ipynb", {}, "no such notebook"),
        ("not-json.ipynb", {}, "not a notebook"),
        ("not-nbformat.ipynb", {}, "not a notebook"),
        ("no-parameters.ipynb", {"seed": 1}, "no cell tagged 'parameters'"),
    ],
    ids=["missing", "not-json", "not-nbformat", "no-parameters-cell"],
)
def test_bad_notebooks(tmp_path, name, given, fragment):
    with pytest.raises(NotebookError) as raised:
        params.resolve(bad_notebooks(tmp_path) / name, given)
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


def test_a_notebook_without_parameters_cell_runs_with_none(tmp_path):
    assert params.resolve(write_notebook(tmp_path / "plain.ipynb", None, "1"), {}) == {}


def test_cli_params_table_and_json(typed_notebook):
    table = CliRunner().invoke(cli, ["params", str(typed_notebook)])
    assert table.exit_code == 0
    assert table.output.splitlines()[1].split()[:3] == ["epochs", "int", "10"]
    as_json = CliRunner().invoke(cli, ["params", str(typed_notebook), "--json"])
    assert json.loads(as_json.output)["learning_rate"] == {
        "name": "learning_rate", "type": "float", "default": 0.01, "help": "",
    }  # fmt: skip


@pytest.mark.parametrize("name", ["missing.ipynb", "not-json.ipynb", "not-nbformat.ipynb"])
def test_cli_mistake_is_one_line_and_exit_2(tmp_path, name):
    """A real process: exit code and stderr as a shell sees them, no traceback."""
    result = subprocess.run(["kit", "params", str(bad_notebooks(tmp_path) / name)], capture_output=True, text=True)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    assert result.stdout == ""


def test_every_kit_error_is_a_usage_error_by_default():
    assert NotebookError("x", "y", "z").exit_status == ParameterError("p", "m").exit_status == 2
    assert issubclass(NotebookError, KitError)


def test_import_kit_and_help_stay_light():
    heavy = "('tensorflow', 'sklearn', 'papermill')"
    code = f"import sys, kit, kit.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    assert subprocess.run(["python", "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_values_papermill_injected_earlier_count_when_none_are_given(tmp_path):
    """An executed notebook runs with its injected values unless new ones replace them, as in papermill."""
    import papermill

    source = write_notebook(tmp_path / "source.ipynb", "epochs = 10\nname = 'a'", "print(epochs)")
    executed = tmp_path / "executed.ipynb"
    papermill.execute_notebook(str(source), str(executed), parameters={"epochs": 3}, progress_bar=False)
    assert params.resolve(executed, {}) == {"epochs": 3, "name": "a"}
    assert params.resolve(executed, {"name": "b"}) == {"epochs": 10, "name": "b"}
