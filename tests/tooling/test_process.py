"""The one way the build tooling runs a command: its output, or one BuildError line with the cause and the fix."""

import sys

import pytest

from imagebuild.errors import BuildError
from imagebuild.process import run, succeeds


def python(code: str) -> list[str]:
    return [sys.executable, "-c", f"import sys, time\n{code}"]


def failing(stderr: str = "", stdout: str = "", code: int = 1) -> list[str]:
    """A command that writes these lines and exits with ``code``."""
    return python(f"sys.stdout.write({stdout!r}); sys.stderr.write({stderr!r}); sys.exit({code})")


def test_returns_the_standard_output_stripped():
    assert run(python("print(' 24.0.7 ')"), "never shown") == "24.0.7"


@pytest.mark.parametrize(
    ("command", "cause"),
    [
        pytest.param(failing("ERROR: the real cause\n[notice] new pip\n"), "the real cause", id="pip-then-notice"),
        pytest.param(failing("error: No solution:\n  ╰─▶ Because a is missing.\n"), "Because a is missing.", id="uv"),
        pytest.param(failing(stdout="said on stdout only\n", code=3), "said on stdout only", id="stdout-only"),
        pytest.param(failing(code=4), "exit code 4", id="silent"),
        pytest.param(["kit-test-no-such-program"], "kit-test-no-such-program is not installed", id="not-installed"),
        pytest.param(python("time.sleep(5)"), "no answer within 0.5 s", id="timeout"),
    ],
)
def test_a_failure_is_one_line_with_the_cause_and_the_fix(command, cause):
    with pytest.raises(BuildError) as raised:
        run(command, "do this", failure="the step failed", timeout=0.5)
    assert str(raised.value) == f"the step failed ({cause}): do this"


def test_the_failure_names_the_program_and_its_subcommand_by_default():
    with pytest.raises(BuildError, match=r"^`kit-test-no-such-program build` failed \("):
        run(["/usr/bin/kit-test-no-such-program", "build", "--tag", "x"], "install it")


def test_succeeds_answers_a_question_without_raising():
    assert succeeds(python("sys.exit(0)"))
    assert not succeeds(failing(code=1))
    assert not succeeds(["kit-test-no-such-program"])
