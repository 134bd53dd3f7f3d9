"""A notebook's parameters, read from its ``parameters`` cell, and validation of the values given for them.

papermill reads the cell (``papermill.inspect_notebook``) but neither checks types nor refuses unknown names;
here both are errors, raised before anything runs. A parameter's type is its annotation (``epochs: int = 10``)
or else the type of its default.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kit.errors import NotebookError, ParameterError

#: Types a parameter can have, by the name an annotation or a default gives them.
TYPES: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str, "list": list, "dict": dict}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a notebook: its name, type name (None when unknown), default (a value) and help."""

    name: str
    type: str | None
    default: Any
    help: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_notebook(path: str | Path):
    """The notebook at ``path``, validated, as an nbformat node; NotebookError says what is wrong."""
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise NotebookError(str(path), "no such notebook", "check the path (kit params NOTEBOOK lists its parameters)")
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several types for unreadable files
        raise NotebookError(str(path), f"not a notebook ({error})", "open it in JupyterLab and save it") from None
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        message = str(error).splitlines()[0]
        raise NotebookError(str(path), f"invalid nbformat ({message})", "open it in JupyterLab and save it") from None
    return notebook


def _default(source: str) -> Any:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return source  # an expression papermill would evaluate in the kernel: kept as written


def _type_name(annotation: str, default: Any) -> str | None:
    annotation = (annotation or "").strip().strip("'\"")
    if annotation and annotation != "None":
        return annotation
    if default is None:
        return None
    return type(default).__name__ if type(default) in TYPES.values() else None


def inspect(path: str | Path) -> dict[str, Parameter]:
    """The parameters of the notebook at ``path``, in cell order (empty without a ``parameters`` cell)."""
    read_notebook(path)
    return _parameters(path)


def _parameters(path: str | Path) -> dict[str, Parameter]:
    """The parameters of a notebook already validated by :func:`read_notebook`."""
    import papermill

    found = papermill.inspect_notebook(str(path))
    parameters = {}
    for name, info in found.items():
        default = _default(info.get("default", "None"))
        type_name = _type_name(info.get("inferred_type_name"), default)
        parameters[name] = Parameter(name, type_name, default, info.get("help", ""))
    return parameters


def injected(notebook) -> dict[str, Any]:
    """The values papermill injected into an executed notebook (its ``injected-parameters`` cell), if any."""
    values = {}
    for cell in notebook.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    values[node.targets[0].id] = _default(ast.get_source_segment(cell.source, node.value))
    return values


def has_parameters_cell(notebook) -> bool:
    return any("parameters" in cell.metadata.get("tags", []) for cell in notebook.cells)


def _from_text(expected: type, text: str) -> Any:
    """A command-line value read as its parameter's type; the text itself when it cannot be."""
    import yaml

    try:
        if expected is bool:
            return {"true": True, "false": False, "1": True, "0": False}.get(text.strip().lower(), text)
        if expected in (int, float):
            return expected(text)
        return yaml.safe_load(text)  # a list or a dict, written as YAML or JSON
    except (ValueError, yaml.YAMLError):
        return text


def _coerce(parameter: Parameter, value: Any, from_text: bool) -> Any:
    expected = TYPES.get(parameter.type or "")
    if expected is None:
        return value  # no type known (a None default without annotation): taken as given
    if from_text and isinstance(value, str) and expected is not str:
        value = _from_text(expected, value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise ParameterError(
        parameter.name,
        f"parameter {parameter.name!r} expects {parameter.type}, got {value!r}: "
        f"pass a {parameter.type} (e.g. -p {parameter.name} {json.dumps(parameter.default)})",
    )


def resolve(path: str | Path, given: dict[str, Any], from_text: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every parameter's value for a run: the given ones checked and converted, the others at their default.

    ``from_text`` names the values that came from the command line as text, to be read as their parameter's
    type (``-p epochs 5`` is the integer 5); values from a YAML file or Python must have the type already.
    """
    notebook = read_notebook(path)
    if given and not has_parameters_cell(notebook):
        fix = "tag the cell that sets the defaults with 'parameters' in JupyterLab"
        raise NotebookError(str(path), "no cell tagged 'parameters'", fix)
    parameters = _parameters(path)
    unknown = sorted(set(given) - set(parameters))
    if unknown:
        valid = ", ".join(parameters) or "none"
        raise ParameterError(unknown[0], f"unknown parameter {unknown[0]!r} for {path}: valid ones are {valid}")
    # papermill keeps the values an earlier run injected when it is given none (and replaces them otherwise).
    defaults = {name: parameter.default for name, parameter in parameters.items()}
    if not given:
        defaults.update({name: value for name, value in injected(notebook).items() if name in defaults})
    return {
        name: _coerce(parameter, given[name], name in from_text) if name in given else defaults[name]
        for name, parameter in parameters.items()
    }
