"""Helpers the tests import (``from tests.utils.containers import wait_for``); fixtures stay in conftest.py files.

Imported inside the image too, where tests/kit and tests/notebooks run: nothing here may need more than the
image has (the standard library, pytest and the Docker SDK); browser.py, which needs Selenium, is for the host's
tests only.
"""
