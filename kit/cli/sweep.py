"""``kit sweep``: a notebook at every point of a grid, here, on a Dask cluster, or written for Kubernetes.

``kit sweep NOTEBOOK ...`` (or ``--resume SWEEP``) runs a sweep, ``kit sweep show SWEEP`` tables its points,
``kit sweep point SWEEP_FILE`` runs one point (what each pod of the Kubernetes Job runs); ``kit report SWEEP`` is
in :mod:`.runs`.
"""

from __future__ import annotations

import click

from kit.cli.group import cli
from kit.cli.options import RUNS_DIR
from kit.cli.output import echo_path
from kit.errors import GridError


class _SweepGroup(click.Group):
    """``kit sweep NOTEBOOK ...`` starts a sweep; a first word naming a subcommand (``show``, ``point``) runs it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["start", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        start = self.commands["start"]
        start.format_help(click.Context(start, info_name=ctx.info_name, parent=ctx.parent), formatter)
        self.format_commands(ctx, formatter)


@cli.group(cls=_SweepGroup)
def sweep() -> None:
    """Run a notebook at every point of a grid; show a sweep's points."""


@sweep.command("start", hidden=True)
@click.argument("notebook", required=False)
@click.option("-p", "--parameter", "pairs", nargs=2, multiple=True, metavar="NAME VALUES",
              help="An axis of the grid: NAME's values, comma-separated, each read as the parameter's type "
                   "(-p seed 0,1,2). Repeat for more; the sweep runs every combination.")  # fmt: skip
@click.option(
    "-f",
    "--grid-file",
    "files",
    multiple=True,
    help="A YAML grid file: 'parameters' (fixed), 'grid' (lists, or {range: [0, 8]}), 'points' (a list).",
)
@click.option("--workers", type=int, help="Points run at once here [default: the usable CPUs].")
@click.option(
    "--threads",
    type=int,
    help="Threads per run [default: $KIT_THREADS, else usable CPUs / workers; 1 on Dask and Kubernetes].",
)
@click.option("--timeout", type=float, help="Seconds any one cell may take (whole seconds, rounded up).")
@RUNS_DIR
@click.option(
    "--scheduler",
    metavar="tcp://HOST:8786",
    help="Run the points on this Dask scheduler's workers (the kit image).",
)
@click.option("--dask-mode", type=click.Choice(["auto", "shared", "ship"]), default="auto", show_default=True,
              help="With --scheduler: the workers share the runs directory (shared), or each point and its record "
                   "travel through the scheduler (ship); auto asks the workers.")  # fmt: skip
@click.option("--resume", "resumed", metavar="SWEEP",
              help="Run again the points of SWEEP that have no succeeded run, where it ran (its --scheduler) unless "
                   "--workers N (here) or --scheduler says otherwise.")  # fmt: skip
@click.option("--emit-k8s", "k8s_dir", metavar="DIR", help="Write the sweep as a Kubernetes Indexed Job into DIR.")
@click.option("--k8s-image", help="The image the Job's pods run [default: kit:latest].")
@click.option("--k8s-claim", help="The PersistentVolumeClaim the pods write runs to [default: kit-runs].")
def start(notebook, pairs, files, workers, threads, timeout, runs_dir, scheduler, dask_mode, resumed, k8s_dir,
          k8s_image, k8s_claim) -> None:  # fmt: skip
    """Run NOTEBOOK at every point of a grid: each point is a recorded run; the last line is the sweep's folder.

    \b
    kit sweep NOTEBOOK -p seed 0,1,2,3 -p model logistic,forest [-f grid.yaml] [--workers N]
    kit sweep NOTEBOOK ... --scheduler tcp://HOST:8786      (on a Dask cluster)
    kit sweep NOTEBOOK ... --emit-k8s DIR                   (a Kubernetes Indexed Job)
    kit sweep --resume SWEEP                                (the points without a succeeded run)
    """  # noqa: D301 - click keeps a paragraph after a backspace line as written
    from kit.running.notebook import load
    from kit.sweeping import driver
    from kit.sweeping.grid import from_options

    if (k8s_image is not None or k8s_claim is not None) and k8s_dir is None:
        raise GridError("--k8s-image and --k8s-claim go with --emit-k8s DIR")
    if resumed is not None:
        given = [name for name, value in (("NOTEBOOK", notebook), ("-p", pairs), ("-f", files), ("--threads", threads),
                 ("--timeout", timeout), ("--emit-k8s", k8s_dir)) if value is not None and value != ()]  # fmt: skip
        if given:
            raise GridError(f"--resume runs the sweep's points as they were given: leave out {', '.join(given)}")
        _echo_path(lambda: driver.resume(resumed, workers=workers, runs_dir=runs_dir, scheduler=scheduler,
                                         dask_mode=dask_mode, progress=True))  # fmt: skip
        return
    if notebook is None:
        raise GridError("pass the NOTEBOOK to sweep (kit sweep NOTEBOOK -p NAME V1,V2), or --resume SWEEP")
    checked = load(notebook)
    grid = from_options(checked, list(pairs), list(files))
    if k8s_dir is not None:
        if scheduler is not None:
            raise GridError("--emit-k8s writes a Job for Kubernetes to run: leave out --scheduler")
        emitted = driver.emit_kubernetes(checked, grid, k8s_dir, workers=workers, threads=threads, timeout=timeout,
                                         runs_dir=runs_dir, image="kit:latest" if k8s_image is None else k8s_image,
                                         claim="kit-runs" if k8s_claim is None else k8s_claim)  # fmt: skip
        click.echo(f"sweep {emitted.sweep_id} written as the Job {emitted.job}: kubectl apply -f {k8s_dir}/pvc.yaml "
                   f"&& kubectl apply -f {k8s_dir}/job.yaml; then `kit sweep show {emitted.sweep_id}` on the claim",
                   err=True)  # fmt: skip
        for path in emitted.files:
            echo_path(path)
        return
    _echo_path(lambda: driver.sweep(checked, grid, workers=workers, threads=threads, timeout=timeout,
                                    runs_dir=runs_dir, scheduler=scheduler, dask_mode=dask_mode,
                                    progress=True))  # fmt: skip


def _echo_path(run_sweep) -> None:
    """Run a sweep and print its folder last, also when points failed or it was interrupted (it is recorded)."""
    from kit.errors import SweepFailed, SweepInterrupted

    try:
        found = run_sweep()
    except (SweepFailed, SweepInterrupted) as error:
        echo_path(error.path)
        raise
    echo_path(found.path)


@sweep.command("show")
@click.argument("sweep_ref", metavar="SWEEP")
@RUNS_DIR
@click.option("--sort", metavar="[-]NAME", help="Sort by a metric or swept parameter; -NAME for largest first.")
def show_command(sweep_ref, runs_dir, sort) -> None:
    """Show SWEEP's points: status, swept parameters, metrics, seconds, CPU seconds, peak memory, run."""
    from kit.display.sweep import summarize, table
    from kit.sweeping import find_sweep

    click.echo(table(summarize(find_sweep(sweep_ref, runs_dir)), sort))


@sweep.command("point")
@click.argument("sweep_file")
@click.option("--index", type=int, help="Which point [default: $JOB_COMPLETION_INDEX, which Kubernetes sets].")
@RUNS_DIR
def point_command(sweep_file, index, runs_dir) -> None:
    """Run one point of SWEEP_FILE (what each pod of `kit sweep --emit-k8s` runs); prints its run's folder."""
    from kit.errors import PointFailed
    from kit.sweeping.kubernetes import run_point

    try:
        outcome = run_point(sweep_file, index, runs_dir)
    except PointFailed as error:
        click.echo(error.outcome.run_id)
        raise
    click.echo(outcome.run_id)
