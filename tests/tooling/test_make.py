"""The Makefile as a newcomer meets it: `make` lists the targets with the values they will use."""

import subprocess

from tests.utils.paths import ROOT


def test_make_help_prints_the_values_not_the_variables():
    result = subprocess.run(
        ["make", "--no-print-directory", "help", "IMAGE=kit:mine", "PORT=9999"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "$(" not in result.stdout
    assert "port 9999" in result.stdout and "the image kit:mine" in result.stdout
