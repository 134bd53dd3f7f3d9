"""The ``kit`` command group, and :func:`main`: the one place that exits.

``main`` maps every known failure to one ``error: ...`` line and its exit code (:class:`kit.exits.ExitCode`).
"""

from __future__ import annotations

import sys

import click

from kit.errors import KitError
from kit.exits import ExitCode
from kit.running import stopping
from kit.shorten import cut
from kit.version import __version__

#: An error line is read, not scrolled: longer messages are cut (a huge value is never echoed in full).
MAX_LINE = 280
#: Modules no kit command uses that cost its start-up dearly: jsonschema (under nbformat) imports rfc3987_syntax
#: only to check "iri" formats, and it compiles a grammar as it loads (0.6 s of every `kit run`, `kit sweep`).
UNUSED_IMPORTS = ("rfc3987_syntax",)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kit")
def cli() -> None:
    """Reproducible notebook runs: validated parameters, complete run records, re-verification.

    \b
    Exit codes: 0 success, 1 the notebook failed (its run is recorded),
    2 a usage mistake (nothing was run), 3 a verified run did not reproduce,
    4 the runs directory is full or read-only (what to free is said),
    130 interrupted, 143 terminated by SIGTERM (the partial run is recorded).
    """  # noqa: D301 - click keeps a paragraph after a backspace line as written


def _fail(message: str, code: int) -> None:
    if stopping.terminated() and code in (ExitCode.INTERRUPTED, ExitCode.RUN_FAILED):
        code = ExitCode.TERMINATED  # what SIGTERM stopped was recorded as interrupted: say it was SIGTERM
    line = cut(" ".join(message.split()), MAX_LINE)
    click.echo(f"error: {line}", err=True)
    sys.exit(code)


def main() -> None:
    for name in UNUSED_IMPORTS:
        sys.modules.setdefault(name, None)  # `import` of it raises ImportError, which jsonschema expects
    stopping.terminate_like_ctrl_c()
    try:
        cli.main(prog_name="kit", standalone_mode=False)
    except KitError as error:
        _fail(str(error), error.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _fail("terminated by SIGTERM" if stopping.terminated() else "interrupted", ExitCode.INTERRUPTED)
    except click.ClickException as error:  # click's own usage errors, in the same one-line form
        command = error.ctx.command_path if getattr(error, "ctx", None) else "kit"
        _fail(f"{error.format_message()} (see `{command} --help`)", ExitCode.USAGE)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    sys.exit(ExitCode.SUCCESS)
