"""A notebook to run, read once and checked: its format, its kernel, its one ``parameters`` cell.

Every problem is a :class:`kit.errors.NotebookError` raised before anything runs or is written: no such
file, not JSON, not a valid notebook (nbformat 3 is converted), a kernel that is not installed, two cells
tagged ``parameters`` (papermill would inject after the first and the second would win, so the record would
show a value that did not run), a parameters cell that does not parse.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.errors import InvalidNotebook, KernelNotFound, NotebookNotFound
from kit.running.parameters import Parameter, parse_annotation

#: A notebook that names no kernel runs on the image's Python kernel, as nbconvert and JupyterLab would.
DEFAULT_KERNEL = "python3"
#: Larger files are not notebooks anyone runs with kit.
MAX_BYTES = 512 << 20
TAG = "parameters"
INJECTED_TAG = "injected-parameters"
_REOPEN = "open it in JupyterLab and save it"


@dataclass(frozen=True)
class Notebook:
    """A checked notebook: its path, its content (nbformat 4), kernel, language, and parameters."""

    path: Path
    node: Any
    kernel: str
    language: str
    parameters: dict[str, Parameter]
    #: Values papermill injected into an executed notebook: they run when no others are given.
    injected: dict[str, Any]

    @property
    def has_parameters_cell(self) -> bool:
        return any(TAG in cell.metadata.get("tags", []) for cell in self.node.cells)


def quiet_about_cell_ids() -> None:
    """Take notebooks whose cells have no ids (written before nbformat 4.5) as they are, without a warning.

    nbformat warns about each such notebook it reads or writes (``MissingIDFieldWarning``) and adds the ids itself;
    nothing is wrong for the user to fix, so kit's runs and sweeps do not print it. A process-wide filter, set once
    (papermill reads and writes the notebook in the threads of a sweep too).
    """
    import warnings

    from nbformat.warnings import MissingIDFieldWarning

    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)


def _read(path: Path):
    import nbformat

    quiet_about_cell_ids()

    try:
        if not path.is_file():
            raise NotebookNotFound(path)
        if path.stat().st_size > MAX_BYTES:
            raise InvalidNotebook(path, f"larger than {MAX_BYTES >> 20} MB", "clear its outputs and save it")
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, ValueError) as error:  # unreadable, not UTF-8, a name too long or with a NUL byte
        if isinstance(error, UnicodeDecodeError):
            raise InvalidNotebook(path, "not UTF-8 text", _REOPEN) from None
        raise InvalidNotebook(
            path, f"cannot be read ({getattr(error, 'strerror', None) or error})", "check it"
        ) from None
    try:
        node = nbformat.reads(text, as_version=4)
    except Exception:  # nbformat raises many types for a file that is not a notebook
        raise InvalidNotebook(path, "not a notebook (not JSON, or not nbformat)", _REOPEN) from None
    try:
        nbformat.validate(node)
    except Exception as error:  # ValidationError, or a RecursionError on a document nested too deep
        message = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        raise InvalidNotebook(path, f"invalid nbformat ({message})", _REOPEN) from None
    return node


def _kernel(path: Path, node) -> tuple[str, str]:
    """The kernel the notebook names (the default one if none) and its language, checked to be installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    kernelspec = node.metadata.get("kernelspec") or {}
    name = kernelspec.get("name") or DEFAULT_KERNEL
    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(name)
    except (NoSuchKernel, ValueError, OSError):
        raise KernelNotFound(path, name, sorted(manager.find_kernel_specs())) from None
    return name, spec.language or kernelspec.get("language") or "python"


def _comments(source: str) -> dict[int, str]:
    """The comment ending each line of Python source, by line number."""
    comments = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string.lstrip("#").strip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return comments


def _literal(source: str) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(source)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, source  # an expression the kernel evaluates: kept as written, never recorded as a value


def python_parameters(source: str) -> dict[str, Parameter]:
    """The assignments of a Python parameters cell: name, annotation, default and the comment as help.

    Parsed with Python's own parser (papermill's regular expressions miss ``x: int | None = None`` and values
    spanning lines); IPython magics are turned into Python first. The last assignment to a name wins, as it
    does in the kernel. ValueError when the cell is not Python.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
        try:
            tree = ast.parse(source)
        except SyntaxError as error:
            raise ValueError(f"line {error.lineno}: {error.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ValueError("it is nested too deeply or holds a NUL byte") from None
    comments = _comments(source)
    found: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name):
            targets, annotation = [node.target.id], ast.get_source_segment(source, node.annotation)
        elif isinstance(node, ast.Assign) and all(isinstance(target, ast.Name) for target in node.targets):
            targets, annotation = [target.id for target in node.targets], None
        else:
            continue
        expression = ast.get_source_segment(source, node.value) or ""
        literal, default = _literal(expression)
        kind = parse_annotation(annotation, default if literal else None)
        for name in targets:
            found.pop(name, None)  # a name assigned again moves to where its final value is set
            found[name] = Parameter(name, kind, default, literal, comments.get(node.end_lineno, ""))
    return found


def _other_language_parameters(cell, kernel: str, language: str) -> dict[str, Parameter]:
    """A non-Python kernel's parameters through papermill's translator for it (types unknown)."""
    from papermill.exceptions import PapermillException
    from papermill.translators import papermill_translators

    try:
        translator = papermill_translators.find_translator(kernel, language)
        found = translator.inspect(cell)
    except (PapermillException, NotImplementedError):
        return {}
    return {p.name: Parameter(p.name, None, p.default, False, p.help) for p in found}


def _injected(node) -> dict[str, Any]:
    values = {}
    for cell in node.cells:
        if INJECTED_TAG in cell.metadata.get("tags", []):
            try:
                parsed = python_parameters(cell.source)
            except ValueError:
                continue
            values.update({name: p.default for name, p in parsed.items() if p.literal})
    return values


def load(path: str | Path) -> Notebook:
    """Read and check the notebook at ``path``; NotebookError says what is wrong and what to do."""
    path = Path(path)
    node = _read(path)
    kernel, language = _kernel(path, node)
    tagged = [index for index, cell in enumerate(node.cells) if TAG in cell.metadata.get("tags", [])]
    if len(tagged) > 1:
        cells = ", ".join(map(str, tagged[:-1])) + f" and {tagged[-1]}"
        both = "both" if len(tagged) == 2 else "all"
        raise InvalidNotebook(path, f"cells {cells} are {both} tagged 'parameters'", "keep the tag on one of them")
    parameters: dict[str, Parameter] = {}
    if tagged:
        cell = node.cells[tagged[0]]
        if cell.cell_type != "code":
            raise InvalidNotebook(path, f"cell {tagged[0]}, tagged 'parameters', is not code", "tag a code cell")
        if language == "python":
            try:
                parameters = python_parameters(cell.source)
            except ValueError as error:
                raise InvalidNotebook(path, f"its parameters cell does not parse ({error})", "fix it") from None
        else:
            parameters = _other_language_parameters(cell, kernel, language)
    injected = _injected(node) if language == "python" else {}
    return Notebook(path, node, kernel, language, parameters, injected)
