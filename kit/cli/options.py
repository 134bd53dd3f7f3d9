"""Options shared by several commands."""

import click

RUNS_DIR = click.option("--runs-dir", help="Where runs are recorded [default: $KIT_RUNS_DIR or ./runs].")
