"""Commands that read run records: ``kit runs`` (``show``, ``diff``), ``kit report``, ``kit env``."""

from __future__ import annotations

import json

import click

from kit.cli.group import cli
from kit.cli.options import RUNS_DIR
from kit.cli.output import echo_path


@cli.group(invoke_without_command=True)
@RUNS_DIR
@click.pass_context
def runs(context, runs_dir) -> None:
    """List the runs (id, notebook, status, start, duration, parameters, metrics); damaged ones say why.

    Runs being written are listed as running, and runs whose kit process is gone (killed) as abandoned:
    `kit runs clean` removes those.
    """
    context.obj = runs_dir
    if context.invoked_subcommand is None:
        from kit import settings
        from kit.display.text import runs_table
        from kit.record import scan
        from kit.record.partial import partials

        found = scan(runs_dir)
        hidden = partials(settings.runs_dir(runs_dir))
        click.echo(runs_table(found, hidden) if found or hidden else "no runs yet: `kit run NOTEBOOK` makes one")


@runs.command("show")
@click.argument("run_ref", metavar="RUN")
@RUNS_DIR
@click.pass_obj
def show_command(group_runs_dir, run_ref, runs_dir) -> None:
    """Show one run's status, parameters, metrics, artifacts and settings."""
    from kit import settings
    from kit.display.summary import summarize
    from kit.display.text import show, show_partial
    from kit.errors import RunNotFound
    from kit.record import find_run
    from kit.record.partial import partials

    runs_dir = runs_dir or group_runs_dir
    try:
        click.echo(show(summarize(find_run(run_ref, runs_dir).check())))
    except RunNotFound:
        hidden = [found for found in partials(settings.runs_dir(runs_dir)) if found.id == run_ref]
        if not hidden:
            raise
        click.echo("\n\n".join(show_partial(found) for found in hidden))


@runs.command("clean")
@RUNS_DIR
@click.pass_obj
def clean_command(group_runs_dir, runs_dir) -> None:
    """Remove abandoned runs: hidden records whose kit process is gone (killed); never one still running."""
    from kit import settings
    from kit.record.partial import clean

    runs = settings.runs_dir(runs_dir or group_runs_dir)
    removed = clean(runs)
    for found in removed:
        click.echo(f"removed abandoned run {found.id} ({found.path.name})")
    click.echo(f"{len(removed)} abandoned runs removed from {runs}" if removed else f"no abandoned runs in {runs}")


@runs.command()
@click.argument("a", metavar="RUN_A")
@click.argument("b", metavar="RUN_B")
@RUNS_DIR
@click.pass_obj
def diff(group_runs_dir, a, b, runs_dir) -> None:
    """Show how two runs differ: parameters, metrics, artifacts and environment."""
    from kit.display.text import comparison
    from kit.record import find_run
    from kit.record.comparison import compare

    runs_dir = runs_dir or group_runs_dir  # `kit runs --runs-dir D diff A B` and `kit runs diff A B --runs-dir D`
    click.echo(comparison(compare(find_run(a, runs_dir).check(), find_run(b, runs_dir).check())))


@cli.command("report")
@click.argument("run_ref", metavar="RUN|SWEEP")
@RUNS_DIR
@click.option("--hide-code", is_flag=True, help="Show outputs only, without the code.")
@click.option("-o", "--output", help="Where to write [default: RUN/report.html, or the sweep's folder].")
def report_command(run_ref, runs_dir, hide_code, output) -> None:
    """Write an HTML report of RUN (record, notebook, plots) or of SWEEP (points, metrics against parameters)."""
    from kit.display import sweep
    from kit.display.report import report
    from kit.record import Run
    from kit.record.sweep import find_run_or_sweep

    found = find_run_or_sweep(run_ref, runs_dir)
    if isinstance(found, Run):
        echo_path(report(found.check(), output, hide_code=hide_code))
    else:
        echo_path(sweep.report(found, output))


@cli.command("env")
@click.option("--json", "as_json", is_flag=True, help="Print everything, packages included, as JSON.")
def env_command(as_json: bool) -> None:
    """Show the environment a run records: Python, platform, CPUs, image, git, packages."""
    from kit.display import text
    from kit.running.environment import environment

    found = environment()
    click.echo(json.dumps(found, indent=2) if as_json else text.environment(found))
