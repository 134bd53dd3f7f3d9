"""Hostile input, as a new user (or a bad day) gives it: every case is one `error:` line and its exit code.

Each case runs the real `kit` command in a workspace of its own, with real kernels and real files, and checks:
- the exit code: 2 for a mistake, 1 for a run that failed (recorded), 3 for a run that did not reproduce;
- exactly one stderr line starting with `error:`, under 300 characters, naming the fix; no traceback;
- the workspace: for a mistake, not one file created or changed; for a failed run, one new, complete, visible
  run record marked failed and nothing else changed; never a hidden `.partial` left behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

import kit
from kit.record import layout
from tests.utils.commands import kit as kit_command
from tests.utils.files import snapshot, unlock
from tests.utils.notebooks import notebook_text, write_notebook

PARAMETERS = (
    "seed = 0\n"
    "scale: float = 1.0\n"
    "li: list[int] = [1, 2]\n"
    "d: dict[str, int] = {}\n"
    "name = 'a'\n"
    "flag = True\n"
    "o: int | None = None\n"
)


def notebook(*cells: str, parameters: str | None = "x = 1", kernel: str | None = "python3") -> str:
    return notebook_text(parameters, *cells, kernel=kernel)


def two_parameter_cells() -> str:
    node = nbformat.reads(notebook("print(i)", parameters="i = 7"), as_version=4)
    node.cells.append(nbformat.v4.new_code_cell("i = 5", metadata={"tags": ["parameters"]}))
    return nbformat.writes(node)


def markdown_parameters() -> str:
    node = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "P"}})
    node.cells.append(nbformat.v4.new_markdown_cell("x = 1", metadata={"tags": ["parameters"]}))
    return nbformat.writes(node)


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


#: The classic: 382 bytes of YAML aliases that expand to 9**8 strings.
BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "e: &e [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "li: [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)
BIG_TEXT = "x" * 900_000


def folder(relative: str, mode: int = 0o755) -> Callable[[Path], None]:
    """Set-up: a folder in the workspace, with ``mode`` (0o555: read-only; 0: closed)."""

    def setup(work: Path) -> None:
        (work / relative).mkdir(exist_ok=True)
        (work / relative).chmod(mode)

    return setup


def laughs(leaf: str, levels: int = 6) -> str:
    """YAML of ``10**levels`` leaves in a few hundred characters: each level lists the one before ten times."""
    parts = [f"&l0 [{', '.join([leaf] * 10)}]"]
    parts += [f"&l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels)]
    return f"[{', '.join(parts)}]"


@dataclass(frozen=True)
class Bad:
    """One hostile input: the `kit` arguments, what the error line must say, the exit code, what to set up."""

    args: tuple
    message: str
    code: int = 2
    files: dict[str, str | bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None


def case(id: str, *args, message: str, **kwargs) -> pytest.param:  # noqa: A002 - pytest's own word
    return pytest.param(Bad(args, message, **kwargs), id=id)


RUN = ("run", "score.ipynb")

CASES = [
    # -p values, read as the parameter's type
    case("p-unknown-name", *RUN, "-p", "sead", "1", message="unknown parameter 'sead'"),
    case("p-empty-name", *RUN, "-p", "", "1", message="unknown parameter ''"),
    case("p-int-text", *RUN, "-p", "seed", "one", message="'seed' expects int, got 'one'"),
    case("p-int-fraction", *RUN, "-p", "seed", "2.5", message="'seed' expects int"),
    case("p-int-exponent", *RUN, "-p", "seed", "1e3", message="'seed' expects int"),
    case("p-int-empty", *RUN, "-p", "seed", "", message="'seed' expects int"),
    case("p-int-5000-digits", *RUN, "-p", "seed", "9" * 5000, message="'seed' expects int, got '9999"),
    case("p-int-beyond-64-bits", *RUN, "-p", "seed", str(2**64), message="'seed' is an integer beyond 64 bits"),
    case("p-seed-negative", *RUN, "-p", "seed", "-1", message="seed must be an integer from 0 to 2**32 - 1"),
    case("p-seed-too-large", *RUN, "-p", "seed", str(2**40), message="seed must be an integer from 0 to 2**32 - 1"),
    case("p-float-text", *RUN, "-p", "scale", "big", message="'scale' expects float, got 'big'"),
    case("p-float-nan", *RUN, "-p", "scale", "nan", message="'scale' is nan: pass a finite number"),
    case("p-float-inf", *RUN, "-p", "scale", "inf", message="'scale' is inf"),
    case("p-float-minus-inf", *RUN, "-p", "scale", "-inf", message="'scale' is -inf"),
    case("p-float-overflow", *RUN, "-p", "scale", "1e999", message="'scale' is inf"),
    case("p-bool-maybe", *RUN, "-p", "flag", "maybe", message="'flag' expects bool"),
    case("p-list-scalar", *RUN, "-p", "li", "oops", message="'li' expects list[int]"),
    case("p-list-of-text", *RUN, "-p", "li", '[1, "a"]', message="'li' expects list[int]"),
    case("p-list-bad-yaml", *RUN, "-p", "li", "[1, 2", message="'li' is not valid YAML"),
    case("p-list-3000-deep", *RUN, "-p", "li", nested(3000), message="'li' is not valid YAML (nested too deeply)"),
    case("p-list-billion-laughs", *RUN, "-p", "li", laughs("1"), message="more than 100,000 items"),
    case(
        "p-list-python-tag",
        *RUN,
        "-p",
        "li",
        "!!python/object/apply:os.system [id]",
        message="'li' is not valid YAML (could not determine a constructor",
    ),  # fmt: skip
    case("p-dict-int-key", *RUN, "-p", "d", "{1: 2}", message="has a key 1 that is not a string"),
    case("p-dict-duplicate-key", *RUN, "-p", "d", "{a: 1, a: 2}", message="'d' is not valid YAML (duplicate key 'a'"),
    case("p-dict-wrong-values", *RUN, "-p", "d", "{a: x}", message="'d' expects dict[str, int]"),
    case("p-dict-date", *RUN, "-p", "d", "{a: 2024-01-01}", message="'d' is a date (YAML reads it unquoted)"),
    case("p-optional-text", *RUN, "-p", "o", "many", message="'o' expects int | None"),
    case("p-not-utf8", *RUN, "-p", "name", b"caf\xe9", message="'name' is not valid UTF-8 text"),
    case("p-missing-value", *RUN, "-p", "seed", message="requires 2 arguments"),
    # -f parameters files
    case("f-missing", *RUN, "-f", "absent.yaml", message="absent.yaml cannot be read"),
    case("f-directory", *RUN, "-f", "folder", message="folder cannot be read", setup=folder("folder")),
    case("f-binary", *RUN, "-f", "p.yaml", message="p.yaml is not", files={"p.yaml": bytes(range(256))}),
    case(
        "f-utf16",
        *RUN,
        "-f",
        "p.yaml",
        message="p.yaml is not UTF-8 text",
        files={"p.yaml": "seed: 1\n".encode("utf-16")},
    ),  # fmt: skip
    case("f-latin1", *RUN, "-f", "p.yaml", message="p.yaml is not UTF-8 text", files={"p.yaml": b"name: caf\xe9\n"}),
    case("f-nul-byte", *RUN, "-f", "p.yaml", message="p.yaml is not valid YAML", files={"p.yaml": b"seed: 1\x00\n"}),
    case("f-list", *RUN, "-f", "p.yaml", message="must be a mapping", files={"p.yaml": "- seed\n"}),
    case("f-scalar", *RUN, "-f", "p.yaml", message="must be a mapping", files={"p.yaml": "42\n"}),
    case("f-bad-yaml", *RUN, "-f", "p.yaml", message="not valid YAML", files={"p.yaml": "seed: 1\nscale: [\n"}),
    case("f-tabs", *RUN, "-f", "p.yaml", message="not valid YAML", files={"p.yaml": "d:\n\ta: 1\n"}),
    case(
        "f-two-documents", *RUN, "-f", "p.yaml", message="not valid YAML", files={"p.yaml": "seed: 1\n---\nseed: 2\n"}
    ),
    case(
        "f-duplicate-key",
        *RUN,
        "-f",
        "p.yaml",
        message="has a duplicate key 'seed'",
        files={"p.yaml": "seed: 1\nscale: 2.0\nseed: 3\n"},
    ),  # fmt: skip
    case(
        "f-5000-deep", *RUN, "-f", "p.yaml", message="nested too deeply", files={"p.yaml": "li: " + nested(5000) + "\n"}
    ),  # fmt: skip
    case(
        "f-5000-digits",
        *RUN,
        "-f",
        "p.yaml",
        message="a value too large to read",
        files={"p.yaml": "seed: " + "9" * 5000 + "\n"},
    ),  # fmt: skip
    case(
        "f-mixed-keys",
        *RUN,
        "-f",
        "p.yaml",
        message="has a key 1 that is not a parameter name",
        files={"p.yaml": "1: a\nseed: 2\n"},
    ),  # fmt: skip
    case("f-billion-laughs", *RUN, "-f", "p.yaml", message="unknown parameter 'a'", files={"p.yaml": BILLION_LAUGHS}),
    case(
        "f-billion-laughs-known",
        *RUN,
        "-f",
        "p.yaml",
        message="'li' holds more than 100,000 items",
        files={"p.yaml": f"li: {laughs('lol', 9)}\n"},
    ),  # fmt: skip
    case(
        "f-aliased-text",
        *RUN,
        "-f",
        "p.yaml",
        message="'li' holds more than 10,000,000 characters",
        files={"p.yaml": f"name: &x {BIG_TEXT}\nli: [{', '.join(['*x'] * 12)}]\n"},
    ),  # fmt: skip
    case(
        "f-too-large",
        *RUN,
        "-f",
        "p.yaml",
        message="more than a parameters file",
        files={"p.yaml": "name: " + "x" * 1_100_000 + "\n"},
    ),  # fmt: skip
    case(
        "f-python-tag",
        *RUN,
        "-f",
        "p.yaml",
        message="not valid YAML",
        files={"p.yaml": "seed: !!python/object/apply:os.system [id]\n"},
    ),  # fmt: skip
    case("f-nan", *RUN, "-f", "p.yaml", message="'scale' is nan", files={"p.yaml": "scale: .nan\n"}),
    case(
        "f-bool-for-int", *RUN, "-f", "p.yaml", message="'seed' expects int, got True", files={"p.yaml": "seed: true\n"}
    ),
    case("f-null-for-int", *RUN, "-f", "p.yaml", message="'seed' expects int, got None", files={"p.yaml": "seed: ~\n"}),
    case(
        "f-date-for-text",
        *RUN,
        "-f",
        "p.yaml",
        message="'name' is a date (YAML reads it unquoted): quote it",
        files={"p.yaml": "name: 2024-01-01\n"},
    ),  # fmt: skip
    case(
        "f-wrong-type",
        *RUN,
        "-f",
        "p.yaml",
        message="'scale' expects float, got 'big'",
        files={"p.yaml": "scale: big\n"},
    ),
    case("f-unknown-name", *RUN, "-f", "p.yaml", message="unknown parameter 'epochs'", files={"p.yaml": "epochs: 3\n"}),
    case(
        "f-unreadable",
        *RUN,
        "-f",
        "p.yaml",
        message="p.yaml cannot be read (Permission denied)",
        files={"p.yaml": "seed: 1\n"},
        setup=lambda work: os.chmod(work / "p.yaml", 0),
    ),  # fmt: skip
    # notebooks
    case("nb-missing", "run", "missing.ipynb", message="no such notebook"),
    case("nb-directory", "run", "folder", message="no such notebook", setup=folder("folder")),
    case("nb-empty", "run", "e.ipynb", message="not a notebook", files={"e.ipynb": ""}),
    case("nb-not-json", "run", "e.ipynb", message="not a notebook", files={"e.ipynb": "{ not json"}),
    case(
        "nb-not-nbformat",
        "run",
        "e.ipynb",
        message="not a notebook",
        files={"e.ipynb": json.dumps({"cells": "nope", "nbformat": 4})},
    ),  # fmt: skip
    case("nb-binary", "run", "e.ipynb", message="not UTF-8 text", files={"e.ipynb": bytes(range(256))}),
    case("nb-5000-deep", "run", "e.ipynb", message="not a notebook", files={"e.ipynb": nested(5000)}),
    case(
        "nb-5000-digits",
        "run",
        "e.ipynb",
        message="not a notebook",
        files={"e.ipynb": notebook("1").replace('"nbformat": 4', '"nbformat": 4, "x": ' + "9" * 5000)},
    ),  # fmt: skip
    case(
        "nb-unreadable",
        "run",
        "e.ipynb",
        message="cannot be read (Permission denied)",
        files={"e.ipynb": notebook("1")},
        setup=lambda work: os.chmod(work / "e.ipynb", 0),
    ),  # fmt: skip
    case("nb-name-too-long", "run", "n" * 300 + ".ipynb", message="cannot be read (File name too long)"),
    case(
        "nb-unknown-kernel",
        "run",
        "e.ipynb",
        message="its kernel 'nosuchkernel' is not installed: pick one of",
        files={"e.ipynb": notebook("1", kernel="nosuchkernel")},
    ),  # fmt: skip
    case(
        "nb-two-parameters-cells",
        "run",
        "e.ipynb",
        "-p",
        "i",
        "7",
        message="cells 0 and 2 are both tagged",
        files={"e.ipynb": two_parameter_cells()},
    ),  # fmt: skip
    case(
        "nb-markdown-parameters",
        "run",
        "e.ipynb",
        message="tagged 'parameters', is not code",
        files={"e.ipynb": markdown_parameters()},
    ),  # fmt: skip
    case(
        "nb-parameters-do-not-parse",
        "run",
        "e.ipynb",
        message="its parameters cell does not parse (line 1",
        files={"e.ipynb": notebook("1", parameters="x = = 1")},
    ),  # fmt: skip
    case("nb-no-parameters-cell", "run", "plain.ipynb", "-p", "seed", "1", message="no cell tagged 'parameters'"),
    case("params-missing", "params", "missing.ipynb", message="no such notebook"),
    case("params-not-json", "params", "e.ipynb", message="not a notebook", files={"e.ipynb": "{"}),
    # run ids
    case("id-empty", *RUN, "--run-id", "", message="run id '' is empty"),
    case("id-250-characters", *RUN, "--run-id", "r" * 250, message="is 250 characters long: use at most 128"),
    case("id-129-characters", *RUN, "--run-id", "r" * 129, message="use at most 128"),
    case("id-path", *RUN, "--run-id", "../up", message="run id '../up' is not allowed"),
    case("id-scratch", *RUN, "--run-id", "scratch", message="(not 'scratch'"),
    case("id-hidden", *RUN, "--run-id", ".hidden", message="is not allowed"),
    case("id-space", *RUN, "--run-id", "a b", message="is not allowed"),
    case("id-slash", *RUN, "--run-id", "a/b", message="is not allowed"),
    case("id-taken", *RUN, "--run-id", "taken", message="run id 'taken' is taken"),
    # runs directories
    case(
        "runs-dir-env-is-a-file",
        *RUN,
        message="runs directory afile is a file",
        env={"KIT_RUNS_DIR": "afile"},
        files={"afile": "x"},
    ),  # fmt: skip
    case("runs-dir-is-a-file", *RUN, "--runs-dir", "afile", message="is a file, not a directory", files={"afile": "x"}),
    case("runs-dir-under-a-file", *RUN, "--runs-dir", "afile/runs", message="afile is a file", files={"afile": "x"}),
    case(
        "runs-dir-read-only",
        *RUN,
        "--runs-dir",
        "ro",
        message="runs directory ro is not writable",
        setup=folder("ro", 0o555),
    ),  # fmt: skip
    case(
        "runs-dir-parent-read-only",
        *RUN,
        "--runs-dir",
        "ro/runs",
        message="cannot be made: ro is not writable",
        setup=folder("ro", 0o555),
    ),  # fmt: skip
    case("runs-dir-name-too-long", *RUN, "--runs-dir", "d" * 300, message="cannot be used (File name too long)"),
    # options
    case("timeout-zero", *RUN, "--timeout", "0", message="--timeout must be a number of seconds above 0, not 0.0"),
    case("timeout-negative", *RUN, "--timeout", "-1", message="--timeout must be a number of seconds above 0"),
    case("timeout-nan", *RUN, "--timeout", "nan", message="not nan"),
    case("timeout-inf", *RUN, "--timeout", "inf", message="not inf"),
    case("timeout-huge", *RUN, "--timeout", "1e12", message="--timeout must be"),
    case("timeout-text", *RUN, "--timeout", "soon", message="'soon' is not a valid float"),
    case("threads-zero", *RUN, "--threads", "0", message="--threads must be a whole number from 1 to 4096, not 0"),
    case("threads-negative", *RUN, "--threads", "-2", message="not -2"),
    case("threads-huge", *RUN, "--threads", "5000", message="from 1 to 4096"),
    case("threads-text", *RUN, "--threads", "all", message="'all' is not a valid integer"),
    case("kit-threads-negative", *RUN, message="KIT_THREADS must be a whole number", env={"KIT_THREADS": "-2"}),
    case("kit-threads-text", *RUN, message="KIT_THREADS must be a whole number", env={"KIT_THREADS": "many"}),
    case("kit-threads-huge", *RUN, message="KIT_THREADS must be a whole number", env={"KIT_THREADS": "99999"}),
    # click's own usage errors, in the same one-line form
    case("unknown-option", *RUN, "--no-such-option", message="No such option '--no-such-option'"),
    case("missing-argument", "run", message="Missing argument 'NOTEBOOK'"),
    case("unknown-command", "rnu", message="No such command 'rnu'"),
    case("option-without-value", *RUN, "--runs-dir", message="requires an argument"),
    # reading records
    case("show-unknown-run", "runs", "show", "nope", message="no run 'nope' in runs"),
    case("show-empty-id", "runs", "show", "", message="no run '' in runs"),
    case("show-300-character-id", "runs", "show", "r" * 300, message="characters)"),
    case("show-partial", "runs", "show", ".taken.partial", message="no run '.taken.partial'"),
    case("diff-unknown-run", "runs", "diff", "taken", "nope", message="no run 'nope'"),
    case("verify-unknown-run", "verify", "nope", message="no run 'nope'"),
    case("verify-id-taken", "verify", "taken", "--run-id", "taken", message="run id 'taken' is taken"),
    case("verify-bad-id", "verify", "taken", "--run-id", "../x", message="is not allowed"),
    case("report-unknown-run", "report", "nope", message="no run 'nope'"),
    case("report-missing-folder", "report", "taken", "-o", "missing/r.html", message="cannot write the report to"),
    case(
        "report-to-a-folder", "report", "taken", "-o", "folder", message="it is a directory", setup=folder("folder")
    ),  # fmt: skip
    case(
        "report-into-read-only-run",
        "report",
        "taken",
        message="cannot write the report",
        setup=lambda work: os.chmod(work / "runs" / "taken", 0o555),
    ),  # fmt: skip
    case(
        "runs-env-is-a-file",
        "runs",
        message="is a file, not a directory",
        env={"KIT_RUNS_DIR": "afile"},
        files={"afile": "x"},
    ),  # fmt: skip
    case(
        "runs-unreadable",
        "runs",
        "--runs-dir",
        "closed",
        message="cannot be listed (Permission denied)",
        setup=folder("closed", 0),
    ),  # fmt: skip
    # runs that start and fail: the record is complete, visible, marked failed
    case(
        "cell-raises",
        "run",
        "f.ipynb",
        message="cell 1 (In [2]) failed with ValueError: bad",
        code=1,
        files={"f.ipynb": notebook("raise ValueError('bad')")},
    ),  # fmt: skip
    case(
        "cell-raises-a-huge-message",
        "run",
        "f.ipynb",
        message="failed with ValueError: xxx",
        code=1,
        files={"f.ipynb": notebook("raise ValueError('x' * 1_000_000)")},
    ),  # fmt: skip
    case(
        "line-magic-error",
        "run",
        "f.ipynb",
        message="failed with UsageError: Line magic function",
        code=1,
        files={"f.ipynb": notebook("%undefined-line-magic")},
    ),  # fmt: skip
    case(
        "sys-exit-1",
        "run",
        "f.ipynb",
        message="failed with SystemExit: 1",
        code=1,
        files={"f.ipynb": notebook("import sys; sys.exit(1)")},
    ),  # fmt: skip
    case(
        "kernel-dies",
        "run",
        "f.ipynb",
        message="failed with DeadKernelError",
        code=1,
        files={"f.ipynb": notebook("import os; os._exit(3)")},
    ),  # fmt: skip
    case(
        "cell-outlasts-fraction-timeout",
        "run",
        "f.ipynb",
        "--timeout",
        "1.5",
        code=1,
        message="failed with CellTimeoutError",
        files={"f.ipynb": notebook("import time; time.sleep(30)")},
    ),
    case(
        "artifact-made-unreadable",
        "run",
        "f.ipynb",
        code=1,
        message="failed with RecordError: artifact 'secret.txt' cannot be read (Permission denied)",
        files={
            "f.ipynb": notebook(
                "import kit, os\np = kit.artifact_path('secret.txt'); p.write_text('s'); os.chmod(p, 0)"
            )
        },
    ),  # fmt: skip
    case(
        "artifact-fifo",
        "run",
        "f.ipynb",
        code=1,
        message="artifact 'pipe' is not a regular file",
        files={"f.ipynb": notebook("import kit, os; os.mkfifo(kit.artifact_path('pipe'))")},
    ),  # fmt: skip
    case(
        "metrics-file-damaged-by-notebook",
        "run",
        "f.ipynb",
        code=1,
        message="metrics.json was damaged in the run",
        files={"f.ipynb": notebook("import os; open(os.environ['KIT_RUN_DIR'] + '/metrics.json', 'w').write('{')")},
    ),
    case(
        "metric-huge-int",
        "run",
        "f.ipynb",
        code=1,
        message="MetricError: metric 'm' is an integer beyond 64 bits",
        files={"f.ipynb": notebook("import kit; kit.log_metric('m', 10**5000)")},
    ),  # fmt: skip
    case(
        "metric-nan",
        "run",
        "f.ipynb",
        code=1,
        message="metric 'm' is nan, not a finite number",
        files={"f.ipynb": notebook("import kit; kit.log_metric('m', float('nan'))")},
    ),  # fmt: skip
    case("verify-failed-run", "verify", "failed", message="run failed failed: only a succeeded run can be verified"),
    case("verify-not-reproduced", "verify", "random", code=3, message="run random did not reproduce"),
]


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    """Finished runs every case's runs directory starts with: one succeeded, one failed, one that won't repeat."""
    folder = tmp_path_factory.mktemp("records")
    runs = folder / "runs"
    write_notebook(folder / "ok.ipynb", "x = 1", "import kit; kit.log_metric('x', x)")
    kit.run(folder / "ok.ipynb", runs_dir=runs, run_id="taken")
    write_notebook(folder / "fail.ipynb", None, "1 / 0")
    with pytest.raises(kit.KitError):
        kit.run(folder / "fail.ipynb", runs_dir=runs, run_id="failed")
    write_notebook(folder / "random.ipynb", None, "import kit, os; kit.log_metric('r', int.from_bytes(os.urandom(4)))")
    kit.run(folder / "random.ipynb", runs_dir=runs, run_id="random")
    return runs


@pytest.fixture
def work(tmp_path, records) -> Path:
    """A workspace: the notebooks the cases name and a runs directory with finished runs."""
    import shutil

    write_notebook(tmp_path / "score.ipynb", PARAMETERS, "import kit; kit.log_metric('scale', scale)")
    write_notebook(tmp_path / "plain.ipynb", None, "1")
    shutil.copytree(records, tmp_path / "runs")
    yield tmp_path
    unlock(tmp_path)  # let pytest remove what a case locked


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_one_clear_line_and_loses_nothing(work, bad):
    for name, content in bad.files.items():
        path = work / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    if bad.setup:
        bad.setup(work)
    before = snapshot(work)
    result = kit_command(*bad.args, cwd=work, env={**os.environ, **bad.env}, timeout=300)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == bad.code, result.stderr[-2000:]
    assert len(errors) == 1, result.stderr[-2000:]
    assert bad.message in errors[0] and len(errors[0]) < 300, errors[0]
    assert "Traceback" not in result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith(("Error", "Usage:"))]
    after = snapshot(work)
    assert not [name for name in after if Path(name).name.startswith(layout.PARTIAL_PREFIX)], "a partial run was left"
    changed = {name for name in before if before[name] != after.get(name)}
    created = sorted(set(after) - set(before))
    if bad.code == 2:
        assert (created, changed) == ([], set()), "a usage mistake must write nothing"
        return
    # the run that failed (or the verify that did not reproduce) is one new, complete, visible record
    new_runs = {Path(name).parts[1] for name in created if Path(name).parts[0] == "runs"}
    assert len(new_runs) == 1 and changed <= {"runs"}, (created, changed)
    run = kit.find_run(work / "runs" / new_runs.pop())
    assert {path.name for path in run.path.iterdir()} == set(layout.RECORD)
    assert run.status.value == ("failed" if bad.code == 1 else "succeeded")
    run.check()  # every file of the record reads back
    assert result.stdout.strip().splitlines()[-1].endswith(run.id) or bad.code == 3


def test_the_table_is_large_enough():
    assert len(CASES) >= 100
