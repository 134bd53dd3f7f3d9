"""What made a model and whether it still predicts as it did: ``kit lineage`` and ``kit parity``."""

from __future__ import annotations

import json
import os

import click

from kit import settings
from kit.cli.group import cli
from kit.cli.options import RUNS_DIR
from kit.errors import KitError


@cli.command("lineage")
@click.argument("ref", metavar="[RUN|MODEL]", required=False)
@RUNS_DIR
@click.option("--url", help="A model server's model: http://HOST:PORT/v2/models/NAME (instead of RUN).")
@click.option("--json", "as_json", is_flag=True, help="Print the lineage as JSON.")
def lineage_command(ref, runs_dir, url, as_json) -> None:
    """Show what made a model: its sha256, run, notebook, parameters, inputs and environment.

    RUN is a run id or directory, MODEL a .keras or .skops file kit.save_model wrote; in a model image, nothing
    (the image's own run). A model image's label io.kit.lineage.sha256 is the lineage sha256 shown here.
    """
    from kit.display.text import lineage
    from kit.serving import lineage as lineages

    if url and ref:
        raise KitError("pass RUN (or MODEL) or --url, not both")
    if url:
        found = lineages.from_url(url)
    else:
        ref = ref or os.environ.get(settings.MODEL_RUN_ENV)
        if not ref:
            raise KitError(f"which model? pass RUN, MODEL or --url URL (or set {settings.MODEL_RUN_ENV})")
        found = lineages.chain(ref, runs_dir)
    if as_json:
        shown = {"model": {"file": found.model_file, "sha256": found.model_sha256},
                 "lineage_sha256": found.lineage_sha256, "lineage": found.lineage}  # fmt: skip
        click.echo(json.dumps(shown, indent=2))
    else:
        click.echo(lineage(found))


@cli.command("parity")
@click.argument("run_ref", metavar="[RUN]", required=False)
@RUNS_DIR
def parity_command(run_ref, runs_dir) -> None:
    """Check that RUN's model predicts its reference set here as in the run, bit for bit; exit 3 if not.

    In a model image, RUN is the image's own run: `make model-image` runs this in every image it builds.
    """
    from kit.serving import parity
    from kit.serving.model import open_model

    run_ref = run_ref or os.environ.get(settings.MODEL_RUN_ENV)
    if not run_ref:
        raise KitError(f"which run's model? pass RUN (a run id or directory), or set {settings.MODEL_RUN_ENV}")
    found = parity.require(open_model(run_ref, runs_dir))
    click.echo(f"parity: the {found.rows} reference rows give the run's {', '.join(found.outputs)}, bit for bit")
