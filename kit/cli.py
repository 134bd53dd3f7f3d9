"""The ``kit`` command: a thin layer over the kit Python API; ``sys.exit`` happens here only."""

from __future__ import annotations

import json
import sys

import click

from kit import __version__
from kit.errors import KitError, NotReproduced, RunError
from kit.status import ExitStatus

RUNS_DIR = click.option(
    "--runs-dir", type=click.Path(file_okay=False), help="Where runs are recorded [default: $KIT_RUNS_DIR or ./runs]."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kit")
def cli() -> None:
    r"""Reproducible notebook runs: validated parameters, complete run records, re-verification.

    \b
    Exit codes: 0 success, 1 the notebook failed (its run is recorded),
    2 a usage mistake (nothing was run), 3 a verified run did not reproduce,
    130 interrupted (the partial run is recorded).
    """


@cli.command()
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def params(notebook: str, as_json: bool) -> None:
    """List NOTEBOOK's parameters with their type and default."""
    from kit import params as parameters
    from kit.render import table

    found = parameters.inspect(notebook)
    if as_json:
        click.echo(json.dumps({name: p.to_dict() for name, p in found.items()}, indent=2))
        return
    if not found:
        click.echo(f"{notebook} has no parameters (no cell tagged 'parameters')")
        return
    rows = [("name", "type", "default", "help")]
    rows += [(p.name, p.type or "any", json.dumps(p.default), p.help) for p in found.values()]
    click.echo(table(rows))


def _read_yaml(path: str) -> dict:
    import yaml

    try:
        with open(path) as file:
            values = yaml.safe_load(file)
    except OSError as error:
        raise KitError(f"cannot read {path}: {error.strerror}: check the -f path") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where else ""
        raise KitError(f"{path} is not valid YAML{line}: write one 'name: value' per line") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise KitError(f"{path} must be a mapping of parameter names to values, one 'name: value' per line")
    return values


@cli.command()
@click.argument("notebook", type=click.Path(dir_okay=False))
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
    "-f",
    "--parameters-file",
    "files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A YAML file of 'name: value' lines; -p overrides it.",
)
@RUNS_DIR
@click.option("--run-id", help="The run's id [default: TIME-NOTEBOOK-RANDOM]; an existing id is refused.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds any one cell may take.")
@click.option("--threads", type=click.IntRange(min=1), help="Thread count [default: $KIT_THREADS or the CPU quota].")
def run(notebook, pairs, files, runs_dir, run_id, timeout, threads) -> None:
    """Execute NOTEBOOK with papermill and record the run; the last line printed is the run directory."""
    from kit.runs import run as execute

    given = {}
    for path in files:
        given.update(_read_yaml(path))
    given.update(dict(pairs))
    try:
        record = execute(
            notebook,
            given,
            runs_dir=runs_dir,
            run_id=run_id,
            timeout=timeout,
            threads=threads,
            progress=True,
            from_text=frozenset(name for name, _ in pairs),
        )
    except RunError as error:
        click.echo(error.run_dir)
        raise
    click.echo(record.path)


@cli.group(invoke_without_command=True)
@RUNS_DIR
@click.pass_context
def runs(context, runs_dir) -> None:
    """List the runs (id, notebook, status, start, duration, parameters, metrics)."""
    context.obj = runs_dir
    if context.invoked_subcommand is None:
        from kit.record import all_runs
        from kit.render import runs_table

        found = all_runs(runs_dir)
        click.echo(runs_table(found) if found else "no runs yet: `kit run NOTEBOOK` makes one")


@runs.command()
@click.argument("run_ref", metavar="RUN")
@click.pass_obj
def show(runs_dir, run_ref) -> None:
    """Show one run's status, parameters, metrics, artifacts and settings."""
    from kit.record import find
    from kit.render import show as render

    click.echo(render(find(run_ref, runs_dir)))


@runs.command()
@click.argument("a", metavar="RUN_A")
@click.argument("b", metavar="RUN_B")
@click.pass_obj
def diff(runs_dir, a, b) -> None:
    """Show how two runs differ: parameters, metrics, artifacts and environment."""
    from kit.comparison import compare
    from kit.record import find
    from kit.render import comparison

    click.echo(comparison(compare(find(a, runs_dir), find(b, runs_dir))))


@cli.command()
@click.argument("run_ref", metavar="RUN")
@RUNS_DIR
@click.option("--run-id", help="The new run's id [default: RUN.verify-RANDOM].")
def verify(run_ref, runs_dir, run_id) -> None:
    """Re-execute RUN with its parameters, seed and threads; exit 3 if metrics or artifacts differ."""
    from kit.render import comparison
    from kit.verification import verify as replay

    result = replay(run_ref, runs_dir=runs_dir, run_id=run_id, progress=True)
    click.echo(comparison(result))
    if not result.reproduced:
        raise NotReproduced(f"run {result.a.id} did not reproduce: see the differences above")
    click.echo(f"reproduced: {result.b.path}")


@cli.command()
@click.argument("run_ref", metavar="RUN")
@RUNS_DIR
@click.option("--hide-code", is_flag=True, help="Show outputs only, without the code.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Where to write [default: RUN/report.html].")
def report(run_ref, runs_dir, hide_code, output) -> None:
    """Write an HTML report of RUN: its record and the executed notebook with plots; prints its path."""
    from kit.record import find
    from kit.reporting import report as write

    click.echo(write(find(run_ref, runs_dir), output, hide_code=hide_code))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print everything, packages included, as JSON.")
def env(as_json: bool) -> None:
    """Show the environment a run records: Python, platform, CPUs, image, git, packages."""
    from kit.env import environment
    from kit.render import environment as render

    report = environment()
    click.echo(json.dumps(report, indent=2) if as_json else render(report))


def main() -> None:
    try:
        cli(standalone_mode=False)
    except KitError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(error.exit_status)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("error: interrupted", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except click.ClickException as error:
        error.show()
        sys.exit(ExitStatus.USAGE)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    sys.exit(ExitStatus.SUCCESS)
