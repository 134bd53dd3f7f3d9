"""A real browser for the image tests: Debian's Chromium, headless, driven by Debian's chromedriver through Selenium.

Host only: it imports Selenium, which the host's `.venv` has and the image does not (tests/by_image imports it,
tests/kit and tests/notebooks never do). Selenium Manager never runs, since the driver's path is given, and
Chromium gets the flags our closed network needs: it runs as root, fetches nothing for itself (components, sync,
background requests, QUIC) and starts from a new, empty profile every time.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.utils.ci import missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",  # Chromium's sandbox refuses to run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: The window a test sees, and the size of its screenshots.
WINDOW = (1280, 1000)


def require_chromium() -> None:
    """Skip (fail in CI) when Debian's browser or its driver is not installed."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            missing(f"{path} is missing: install Debian's {package} (`make browser` does, as root)")


@contextmanager
def chromium(window: tuple[int, int] = WINDOW) -> Iterator[WebDriver]:
    """A headless Chromium with a new, empty profile; quit, and its profile removed, at the end."""
    require_chromium()
    profile = tempfile.mkdtemp(prefix="kit-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={window[0]},{window[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for console_errors()
    try:
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# Chromium aborts requests in flight when the host's network interfaces change, which Docker does whenever any
# container or network starts on this machine: a fact about the machine, not an error of the page.
MACHINE_NOISE = ("net::ERR_NETWORK_CHANGED",)


def console_errors(driver: WebDriver) -> list[str]:
    """The errors the page logged to the browser's console since the last call (reading the log empties it)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not any(noise in entry["message"] for noise in MACHINE_NOISE)
    ]
