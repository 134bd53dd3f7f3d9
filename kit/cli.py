"""The ``kit`` command: a thin layer over the kit Python API."""

import click

from kit import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kit")
def cli() -> None:
    """Reproducible notebook runs: validated parameters, complete run records, re-verification."""


def main() -> None:
    cli()
