"""Commands that run notebooks: ``kit params``, ``kit run``, ``kit verify``."""

from __future__ import annotations

import json

import click

from kit.cli.group import cli
from kit.cli.options import RUNS_DIR
from kit.cli.output import echo_path
from kit.errors import NotReproduced, RunError


@cli.command()
@click.argument("notebook")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def params(notebook: str, as_json: bool) -> None:
    """List NOTEBOOK's parameters with their type and default."""
    from kit.display.text import table
    from kit.running.notebook import load
    from kit.shorten import short

    found = load(notebook).parameters
    if as_json:
        click.echo(json.dumps({name: p.to_dict() for name, p in found.items()}, indent=2))
        return
    if not found:
        click.echo(f"{notebook} has no parameters (no cell tagged 'parameters')")
        return
    rows = [("name", "type", "default", "help")]
    rows += [(p.name, p.type or "any", short(p.shown_default(), 40), p.help) for p in found.values()]
    click.echo(table(rows))


@cli.command()
@click.argument("notebook")
@click.option(
    "-p",
    "--parameter",
    "pairs",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Set a parameter; VALUE is read as the parameter's type. Repeat for more.",
)
@click.option(
    "-f", "--parameters-file", "files", multiple=True, help="A YAML file of 'name: value' lines; -p overrides it."
)
@RUNS_DIR
@click.option("--run-id", help="The run's id [default: TIME-NOTEBOOK-RANDOM]; an existing id is refused.")
@click.option("--timeout", type=float, help="Seconds any one cell may take (whole seconds, rounded up).")
@click.option("--threads", type=int, help="Thread count [default: $KIT_THREADS or the CPU quota].")
def run(notebook, pairs, files, runs_dir, run_id, timeout, threads) -> None:
    """Execute NOTEBOOK with papermill and record the run; the last line printed is the run directory."""
    from kit.running import execute, prepare
    from kit.running.notebook import load
    from kit.running.parameters import from_text, read_file

    checked = load(notebook)
    given = {}
    for path in files:
        given.update(read_file(path))
    given.update({name: from_text(checked.parameters.get(name), text) for name, text in pairs})
    plan = prepare(checked, given, runs_dir=runs_dir, run_id=run_id, timeout=timeout, threads=threads)
    try:
        record = execute(plan, progress=True)
    except RunError as error:
        if error.run_dir is not None:  # None: the runs directory could not keep even a failed record
            echo_path(error.run_dir)
        raise
    echo_path(record.path)


@cli.command("verify")
@click.argument("run_ref", metavar="RUN")
@RUNS_DIR
@click.option("--run-id", help="The new run's id [default: RUN.verify-RANDOM].")
@click.option("--ignore-inputs", is_flag=True, help="Run even when a file RUN read has changed or is missing.")
def verify_command(run_ref, runs_dir, run_id, ignore_inputs) -> None:
    """Re-execute RUN with its parameters, seed and threads; exit 3 if metrics or artifacts differ.

    First, the files RUN read are compared with those there now: exit 5, with nothing run, when one has changed
    or is missing (--ignore-inputs runs anyway).
    """
    from kit.display.text import comparison, where
    from kit.running import verify

    try:
        result = verify(run_ref, runs_dir=runs_dir, run_id=run_id, progress=True, ignore_inputs=ignore_inputs)
    except RunError as error:
        if error.run_dir is not None:
            echo_path(error.run_dir)
        raise
    click.echo(comparison(result))
    if not result.reproduced:
        raise NotReproduced(result.a.id, result.b.path, where(result.divergence))
    click.echo(f"reproduced: {result.b.path}")
