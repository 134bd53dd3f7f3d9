"""Commands that use a run's model: ``kit serve``, ``kit predict``, ``kit deploy``."""

from __future__ import annotations

import os

import click

from kit import settings
from kit.cli.group import cli
from kit.cli.options import RUNS_DIR
from kit.cli.output import echo_path
from kit.errors import KitError


def _run_or_default(run_ref: str | None) -> str:
    run_ref = run_ref or os.environ.get(settings.MODEL_RUN_ENV)
    if not run_ref:
        raise KitError(f"which run's model? pass RUN (a run id or directory), or set {settings.MODEL_RUN_ENV}")
    return run_ref


@cli.command("serve")
@click.argument("run_ref", metavar="[RUN]", required=False)
@RUNS_DIR
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", type=int, default=8080, show_default=True, help="Port to listen on.")
@click.option("--workers", type=int, default=1, show_default=True, help="Server processes, each with the model.")
@click.option("--name", help="The model's name in the URLs [default: the notebook's name].")
@click.option(
    "--max-body-mb", type=float, default=16, show_default=True, help="The largest request body, in MB (0.001 to 1024)."
)
@click.option(
    "--token-file",
    envvar=settings.SERVE_TOKEN_FILE_ENV,
    show_envvar=True,
    help="Require Authorization: Bearer TOKEN, one of the tokens in this file (one a line).",
)
@click.option("--metrics-need-token", is_flag=True, help="Require a token on /metrics too (health stays open).")
@click.option(
    "--audit-log",
    envvar=settings.SERVE_AUDIT_LOG_ENV,
    show_envvar=True,
    help="Append one JSON line per inference request to this file (no input data).",
)
@click.option("--audit-outputs", is_flag=True, help="Put each request's outputs in its audit line too.")
@click.option("--no-batching", is_flag=True, help="Predict each request alone (the outputs are the same bits).")
def serve_command(run_ref, runs_dir, host, port, workers, name, max_body_mb, token_file, metrics_need_token,
                  audit_log, audit_outputs, no_batching) -> None:  # fmt: skip
    """Serve RUN's model over HTTP with the Open Inference Protocol (KServe V2), and Prometheus metrics.

    In a model image RUN is the run inside it ($KIT_MODEL_RUN). TLS is the ingress's job: put one in front.
    """
    from kit.serving.model import open_model
    from kit.serving.server import body_bytes, serve

    max_body = body_bytes(max_body_mb)
    served = open_model(_run_or_default(run_ref), runs_dir, name=name)
    serve(served, host=host, port=port, workers=workers, max_body=max_body, token_file=token_file or None,
          metrics_need_token=metrics_need_token, audit_log=audit_log or None, audit_outputs=audit_outputs,
          batching=not no_batching)  # fmt: skip


@cli.command("predict")
@click.argument("paths", metavar="[RUN] INPUT", nargs=-1, required=True)
@RUNS_DIR
@click.option("-o", "--output", help="Where to write the predictions [default: INPUT.predictions.csv].")
def predict_command(paths, runs_dir, output) -> None:
    """Predict every row of INPUT (a CSV of the model's features, or an .npy array) with RUN's model.

    The predictions go to a CSV file, written whole or not at all. In a model image RUN is the run inside it.
    """
    from kit.serving.batch import predict_file
    from kit.serving.model import open_model

    if len(paths) > 2:
        raise click.UsageError(f"got {len(paths)} arguments: pass RUN INPUT (or INPUT alone in a model image)")
    run_ref, source = paths if len(paths) == 2 else (_run_or_default(None), paths[0])
    path, count = predict_file(open_model(run_ref, runs_dir), source, output, runs_dir=runs_dir)
    click.echo(f"{count} rows predicted", err=True)
    echo_path(path)


@cli.command("deploy")
@click.argument("run_ref", metavar="RUN")
@RUNS_DIR
@click.option("--image", required=True, help="The model image to run (`make model-image` builds it).")
@click.option("-o", "--output", default="deploy/model", show_default=True, help="The folder to write into.")
@click.option("--replicas", type=click.IntRange(1, 100), default=2, show_default=True, help="Pods at least.")
@click.option("--cpu", default="500m", show_default=True, help="CPU each pod requests (and may use).")
@click.option("--memory", default="512Mi", show_default=True, help="Memory each pod requests (and may use).")
def deploy_command(run_ref, runs_dir, image, output, replicas, cpu, memory) -> None:
    """Write the Kubernetes manifests that run RUN's model image: `kubectl apply -k OUTPUT`."""
    from kit.serving import kubernetes
    from kit.serving.model import open_model

    served = open_model(run_ref, runs_dir)
    for path in kubernetes.write(served, image, output, replicas=replicas, cpu=cpu, memory=memory):
        echo_path(path)
