"""The ``kit`` command: a thin layer over the kit Python API; ``sys.exit`` happens here only."""

from __future__ import annotations

import json
import sys

import click

from kit import __version__
from kit.errors import KitError
from kit.status import ExitStatus


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kit")
def cli() -> None:
    """Reproducible notebook runs: validated parameters, complete run records, re-verification.

    Exit codes: 0 success, 1 the notebook failed, 2 a usage mistake (nothing was run),
    3 a verified run did not reproduce, 130 interrupted.
    """


@cli.command()
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def params(notebook: str, as_json: bool) -> None:
    """List NOTEBOOK's parameters with their type and default."""
    from kit import params as parameters

    found = parameters.inspect(notebook)
    if as_json:
        click.echo(json.dumps({name: p.to_dict() for name, p in found.items()}, indent=2))
        return
    if not found:
        click.echo(f"{notebook} has no parameters (no cell tagged 'parameters')")
        return
    rows = [("name", "type", "default", "help")]
    rows += [(p.name, p.type or "any", json.dumps(p.default), p.help) for p in found.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3])


def main() -> None:
    try:
        cli(standalone_mode=False)
    except KitError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(error.exit_status)
    except click.exceptions.Abort:
        click.echo("error: interrupted", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except click.ClickException as error:
        error.show()
        sys.exit(ExitStatus.USAGE)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    sys.exit(ExitStatus.SUCCESS)
