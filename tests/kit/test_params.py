"""Parameters: read from the parameters cell, typed, checked and converted before anything runs."""

import json
import subprocess

import pytest
from click.testing import CliRunner

from kit.cli import cli
from kit.errors import KitError, NotebookError, ParameterError, ParameterTypeError, ParameterValueError
from kit.running import prepare
from kit.running.notebook import load, python_parameters
from kit.running.parameters import Kind, check, from_text, parse_annotation
from tests.utils.notebooks import write_notebook


def test_the_parameters_cell_gives_types_defaults_and_help(typed_notebook):
    found = load(typed_notebook).parameters
    assert list(found) == ["epochs", "learning_rate", "task", "shuffle", "layers", "data_path"]
    assert (found["epochs"].type, found["epochs"].default, found["epochs"].help) == ("int", 10, "passes over the data")
    assert (found["learning_rate"].type, found["learning_rate"].default) == ("float", 0.01)
    assert (found["task"].type, found["shuffle"].type, found["layers"].type) == ("str", "bool", "list")
    assert (found["data_path"].type, found["data_path"].default) == (None, None)


def test_python_parser_reads_what_papermills_regular_expressions_miss():
    cell = (
        "%matplotlib inline\n"
        "limit: int | None = None  # optional\n"
        "layers: list[int] = [\n    16,\n    8,\n]  # spans lines\n"
        "rates: dict[str, float] = {'a': 0.1}\n"
        "quoted: 'int' = 3\n"
        "derived = 2 * limit if limit else 0\n"
        "seed = 1\n"
        "seed = 2  # the last assignment runs\n"
    )
    found = python_parameters(cell)
    assert list(found) == ["limit", "layers", "rates", "quoted", "derived", "seed"]
    assert (found["limit"].type, found["limit"].help) == ("int | None", "optional")
    assert (found["layers"].type, found["layers"].default, found["layers"].help) == (
        "list[int]",
        [16, 8],
        "spans lines",
    )
    assert found["rates"].type == "dict[str, float]" and found["quoted"].type == "int"
    assert not found["derived"].literal and found["derived"].default == "2 * limit if limit else 0"
    assert found["seed"].default == 2


@pytest.mark.parametrize(
    ("annotation", "default", "expected"),
    [
        pytest.param("int", None, Kind("int"), id="int"),
        pytest.param("Optional[float]", None, Kind("float", optional=True), id="optional"),
        pytest.param("None | str", None, Kind("str", optional=True), id="none-first"),
        pytest.param("List[int]", None, Kind("list", Kind("int")), id="typing-list"),
        pytest.param("dict[str, list[int]]", None, Kind("dict", Kind("list", Kind("int"))), id="nested"),
        pytest.param("tuple", None, Kind("list"), id="tuple-is-a-list"),
        pytest.param("numpy.ndarray", None, None, id="unknown"),
        pytest.param("int | str", None, None, id="union-unchecked"),
        pytest.param(None, 1.5, Kind("float"), id="from-default"),
        pytest.param(None, True, Kind("bool"), id="bool-default"),
        pytest.param(None, None, None, id="none-default"),
    ],
)
def test_annotations_and_defaults_give_the_type(annotation, default, expected):
    assert parse_annotation(annotation, default) == expected


def test_command_line_text_is_read_as_the_parameters_type(typed_notebook):
    found = load(typed_notebook).parameters
    given = {"epochs": "5", "learning_rate": "1e-3", "shuffle": "false", "layers": "[4]", "task": "[not, a, list]"}
    values = {name: check(found[name], from_text(found[name], text)) for name, text in given.items()}
    assert values == {"epochs": 5, "learning_rate": 0.001, "shuffle": False, "layers": [4], "task": "[not, a, list]"}
    assert from_text(found["data_path"], "42") == "42"  # no type known: the text as given


def test_prepare_records_every_value_and_replays_only_the_given(typed_notebook, tmp_path):
    plan = prepare(typed_notebook, {"learning_rate": 1}, runs_dir=tmp_path / "runs")
    assert plan.params == {
        "epochs": 10, "learning_rate": 1.0, "task": "diagnosis", "shuffle": True, "layers": [16, 8], "data_path": None,
    }  # fmt: skip
    assert plan.invocation.parameters == {"learning_rate": 1.0}
    assert not (tmp_path / "runs").exists()  # preparing writes nothing


def test_an_expression_default_is_never_recorded_as_a_value(tmp_path):
    notebook = write_notebook(tmp_path / "expr.ipynb", "n = 3\ndouble = 2 * n\nkeys = {1: 'a'}", "1")
    assert prepare(notebook, runs_dir=tmp_path / "runs").params == {"n": 3}


@pytest.mark.parametrize(
    ("given", "error", "fragments"),
    [
        pytest.param(
            {"epoch": 3}, ParameterError, ["unknown parameter 'epoch'", "valid ones are epochs"], id="unknown"
        ),
        pytest.param(
            {"epochs": "many"},
            ParameterTypeError,
            ["'epochs' expects int, got 'many'", "-p epochs 10"],
            id="text-not-int",
        ),  # fmt: skip
        pytest.param({"epochs": 2.5}, ParameterTypeError, ["'epochs' expects int"], id="float-for-int"),
        pytest.param({"epochs": True}, ParameterTypeError, ["'epochs' expects int"], id="bool-for-int"),
        pytest.param({"shuffle": "maybe"}, ParameterTypeError, ["'shuffle' expects bool"], id="not-a-bool"),
        pytest.param({"layers": "oops"}, ParameterTypeError, ["'layers' expects list"], id="not-a-list"),
        pytest.param({"learning_rate": float("nan")}, ParameterValueError, ["is nan"], id="nan"),
        pytest.param({"data_path": {1: "a"}}, ParameterValueError, ["not a string"], id="int-key"),
        pytest.param({"data_path": 2**70}, ParameterValueError, ["beyond 64 bits"], id="huge-int"),
        pytest.param({"data_path": {"a"}}, ParameterValueError, ["is a set"], id="set"),
        pytest.param({("a",): 1}, ParameterError, ["unknown parameter ('a',)"], id="tuple-name"),
    ],
)
def test_bad_values_name_the_fix(typed_notebook, tmp_path, given, error, fragments):
    with pytest.raises(error) as raised:
        prepare(typed_notebook, given, runs_dir=tmp_path / "runs")
    for fragment in fragments:
        assert fragment in str(raised.value)
    assert len(str(raised.value)) < 300 and "\n" not in str(raised.value)


def test_a_billion_laughs_stops_at_the_item_bound(typed_notebook, tmp_path):
    laugh = ["lol"] * 10
    for _ in range(8):
        laugh = [laugh] * 10  # 10**9 strings if expanded; shared references cost nothing until then
    with pytest.raises(ParameterValueError, match="more than 100,000 items"):
        prepare(typed_notebook, {"layers": laugh}, runs_dir=tmp_path / "runs")


def bad_notebooks(tmp_path):
    (tmp_path / "not-json.ipynb").write_text("{ this is not json")
    (tmp_path / "not-nbformat.ipynb").write_text(json.dumps({"cells": "nope", "nbformat": 4}))
    write_notebook(tmp_path / "no-parameters.ipynb", None, "print(1)")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "given", "fragment"),
    [
        pytest.param("missing.ipynb", {}, "no such notebook", id="missing"),
        pytest.param("not-json.ipynb", {}, "not a notebook", id="not-json"),
        pytest.param("not-nbformat.ipynb", {}, "not a notebook", id="not-nbformat"),
        pytest.param("no-parameters.ipynb", {"seed": 1}, "no cell tagged 'parameters'", id="no-parameters-cell"),
    ],
)
def test_bad_notebooks(tmp_path, name, given, fragment):
    with pytest.raises(NotebookError) as raised:
        prepare(bad_notebooks(tmp_path) / name, given, runs_dir=tmp_path / "runs")
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


def test_a_notebook_without_parameters_cell_runs_with_none(tmp_path):
    notebook = write_notebook(tmp_path / "plain.ipynb", None, "1")
    assert prepare(notebook, runs_dir=tmp_path / "runs").params == {}


def test_cli_params_table_and_json(typed_notebook):
    table = CliRunner().invoke(cli, ["params", str(typed_notebook)])
    assert table.exit_code == 0
    assert table.output.splitlines()[1].split()[:3] == ["epochs", "int", "10"]
    as_json = CliRunner().invoke(cli, ["params", str(typed_notebook), "--json"])
    assert json.loads(as_json.output)["learning_rate"] == {
        "name": "learning_rate", "type": "float", "default": 0.01, "literal": True, "help": "",
    }  # fmt: skip


def test_cli_params_shows_what_json_cannot_hold(tmp_path):
    notebook = write_notebook(tmp_path / "odd.ipynb", "keys = {1, 2}\nn = 2 ** 3", "1")
    listed = json.loads(CliRunner().invoke(cli, ["params", str(notebook), "--json"]).output)
    assert listed["keys"] == {"name": "keys", "type": None, "default": "{1, 2}", "literal": False, "help": ""}
    assert (listed["n"]["default"], listed["n"]["literal"]) == ("2 ** 3", False)


@pytest.mark.parametrize("name", ["missing.ipynb", "not-json.ipynb", "not-nbformat.ipynb"])
def test_cli_mistake_is_one_line_and_exit_2(tmp_path, name):
    """A real process: exit code and stderr as a shell sees them, no traceback."""
    result = subprocess.run(["kit", "params", str(bad_notebooks(tmp_path) / name)], capture_output=True, text=True)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    assert result.stdout == ""


def test_every_kit_error_is_a_usage_error_by_default():
    from kit.errors import InvalidNotebook

    assert InvalidNotebook("x", "y", "z").exit_code == ParameterError("p", "m").exit_code == 2
    assert issubclass(NotebookError, KitError)


def test_import_kit_and_help_stay_light():
    heavy = "('tensorflow', 'sklearn', 'papermill', 'nbformat', 'yaml')"
    code = f"import sys, kit, kit.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    assert subprocess.run(["python", "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_values_papermill_injected_earlier_count_when_none_are_given(tmp_path):
    """An executed notebook runs with its injected values unless new ones replace them, as in papermill."""
    import papermill

    source = write_notebook(tmp_path / "source.ipynb", "epochs = 10\nname = 'a'", "print(epochs)")
    executed = tmp_path / "executed.ipynb"
    papermill.execute_notebook(str(source), str(executed), parameters={"epochs": 3}, progress_bar=False)
    assert prepare(executed, runs_dir=tmp_path / "runs").params == {"epochs": 3, "name": "a"}
    assert prepare(executed, {"name": "b"}, runs_dir=tmp_path / "runs").params == {"epochs": 10, "name": "b"}
