"""Running the commands a build needs: each one's output, or one :class:`BuildError` line that says what to do."""

from __future__ import annotations

import collections
import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

from imagebuild.errors import BuildError

#: Lines that end a tool's output without saying what went wrong: pip's upgrade notice.
_NOISE = ("[notice]",)
#: What tools put before a line that the message's "failed (...)" says already: "ERROR: " (pip), "error: "
#: (uv, git), "E: " (debootstrap, apt), and uv's tree drawing ("  ╰─▶ ").
_DECORATION = re.compile(r"^(?:[^\w`'\"(\[/]+|ERROR: |error: |E: )+")


def last_line(output: str) -> str:
    """The last line of a failed command's output that says something, without its decoration."""
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.strip().startswith(_NOISE)]
    return _DECORATION.sub("", lines[-1])[:200] if lines else ""


def run(
    command: list[str],
    fix: str,
    *,
    failure: str | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    capture: bool = True,
) -> str:
    """Run ``command`` and return its standard output, stripped.

    When it fails, exits non-zero or does not finish within ``timeout`` seconds, raise
    ``BuildError("<failure> (<its last meaningful line>): <fix>")``, one line; ``failure`` defaults to the
    program and its first argument ("`docker pull` failed"). ``capture=False`` lets the output through to the
    terminal, for a long step the user watches (`docker build`).
    """
    failure = failure or f"`{shlex.join([Path(command[0]).name, *command[1:2]])}` failed"
    try:
        result = subprocess.run(
            command, capture_output=capture, text=True, timeout=timeout, env=env, cwd=cwd, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"{failure} (no answer within {timeout:g} s): {fix}") from None
    except FileNotFoundError:
        raise BuildError(f"{failure} ({command[0]} is not installed): {fix}") from None
    if result.returncode:
        if capture:
            reason = last_line(result.stderr) or last_line(result.stdout) or f"exit code {result.returncode}"
        else:
            reason = "its output is above"
        raise BuildError(f"{failure} ({reason}): {fix}")
    return (result.stdout or "").strip()


def run_with_progress(
    command: list[str], fix: str, progress: Callable[[str], str | None], *, failure: str, env: dict[str, str]
) -> None:
    """Run ``command``, printing on stdout what ``progress`` makes of each line of its output (None: nothing).

    A long step the user waits for (a download of hundreds of MB) shows how far it is; when it fails, the error
    is still one :class:`BuildError` line, from the last lines of its output.
    """
    tail: collections.deque[str] = collections.deque(maxlen=20)
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise BuildError(f"{failure} ({command[0]} is not installed): {fix}") from None
    with process:
        for line in process.stdout:
            tail.append(line)
            if (shown := progress(line.rstrip("\n"))) is not None:
                print(shown, flush=True)
    if process.returncode:
        reason = last_line("".join(tail)) or f"exit code {process.returncode}"
        raise BuildError(f"{failure} ({reason}): {fix}")


def succeeds(command: list[str], timeout: float | None = None) -> bool:
    """Whether ``command`` exits 0 within ``timeout`` seconds: for questions (is the image here?), not steps."""
    try:
        run(command, "", timeout=timeout)
    except BuildError:
        return False
    return True
