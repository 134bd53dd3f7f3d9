"""Commands that read run records: ``kit runs`` (``show``, ``diff``), ``kit report``, ``kit env``."""

from __future__ import annotations

import json

import click

from kit import settings
from kit.cli.group import cli
from kit.cli.options import RUNS_DIR


@cli.group(invoke_without_command=True)
@RUNS_DIR
@click.pass_context
def runs(context, runs_dir) -> None:
    """List the runs (id, notebook, status, start, duration, parameters, metrics); damaged ones say why."""
    context.obj = runs_dir
    if context.invoked_subcommand is None:
        from kit.display.text import runs_table
        from kit.record import scan

        found = scan(runs_dir)
        click.echo(runs_table(found) if found else "no runs yet: `kit run NOTEBOOK` makes one")


@runs.command("show")
@click.argument("run_ref", metavar="RUN")
@click.pass_obj
def show_command(runs_dir, run_ref) -> None:
    """Show one run's status, parameters, metrics, artifacts and settings."""
    from kit.display.summary import summarize
    from kit.display.text import show
    from kit.record import find_run

    click.echo(show(summarize(find_run(run_ref, runs_dir).check())))


@runs.command()
@click.argument("a", metavar="RUN_A")
@click.argument("b", metavar="RUN_B")
@click.pass_obj
def diff(runs_dir, a, b) -> None:
    """Show how two runs differ: parameters, metrics, artifacts and environment."""
    from kit.display.text import comparison
    from kit.record import find_run
    from kit.record.comparison import compare

    click.echo(comparison(compare(find_run(a, runs_dir).check(), find_run(b, runs_dir).check())))


@cli.command("report")
@click.argument("run_ref", metavar="RUN|SWEEP")
@RUNS_DIR
@click.option("--hide-code", is_flag=True, help="Show outputs only, without the code.")
@click.option("-o", "--output", help="Where to write [default: RUN/report.html, or the sweep's folder].")
def report_command(run_ref, runs_dir, hide_code, output) -> None:
    """Write an HTML report of RUN (record, notebook, plots) or of SWEEP (points, metrics against parameters)."""
    from kit.display.report import report
    from kit.errors import RunNotFound
    from kit.record import find_run

    try:
        run = find_run(run_ref, runs_dir)
    except RunNotFound:
        from kit.display import sweep
        from kit.errors import SweepNotFound
        from kit.sweeping import find_sweep

        try:
            found = find_sweep(run_ref, runs_dir)
        except SweepNotFound:
            raise RunNotFound(run_ref, settings.runs_dir(runs_dir)) from None
        click.echo(sweep.report(found, output))
        return
    click.echo(report(run.check(), output, hide_code=hide_code))


@cli.command("env")
@click.option("--json", "as_json", is_flag=True, help="Print everything, packages included, as JSON.")
def env_command(as_json: bool) -> None:
    """Show the environment a run records: Python, platform, CPUs, image, git, packages."""
    from kit.display import text
    from kit.running.environment import environment

    found = environment()
    click.echo(json.dumps(found, indent=2) if as_json else text.environment(found))
