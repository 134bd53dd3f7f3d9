"""The HTML reports as a person sees them, in a real browser: `kit report RUN` and `kit report SWEEP` of real runs
made in the image, opened in headless Chromium. Real tables (not Markdown's pipes as text), no bare values without
context, plots with a dot per point. Each page's screenshot is kept in test-artifacts/reports/.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.utils.browser import chromium
from tests.utils.paths import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "reports"
SEEDS = ("0", "1")


@pytest.fixture(scope="module")
def reports(tmp_path_factory, kit_image) -> Path:
    """A run and a two-point sweep of the shipped tabular notebook, made in the image, and their reports."""
    out = tmp_path_factory.mktemp("reports")
    out.chmod(0o777)
    script = (
        "set -e; cd ~/work; export KIT_RUNS_DIR=/out/runs; "
        "kit run notebooks/train_tabular.ipynb --run-id shown -p seed 1 > /dev/null 2>&1; "
        "kit report shown > /dev/null; "
        f"kit sweep notebooks/train_tabular.ipynb -p seed {','.join(SEEDS)} --workers 2 > /dev/null 2>&1; "
        "kit report $(ls /out/runs/sweeps) > /dev/null"
    )
    result = subprocess.run(["docker", "run", "--rm", "-v", f"{out}:/out", kit_image, "bash", "-c", script],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return out / "runs"


def look(driver, page: Path, name: str) -> None:
    """Open ``page`` and keep its screenshot (the whole page) for a person to look at."""
    driver.get(page.as_uri())
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, min(max(height, 800), 4000))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def cells(table) -> list[list[str]]:
    """The text of a table's body, row by row."""
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]  # fmt: skip


def test_a_run_report_shows_its_record_as_tables(reports):
    with chromium() as driver:
        look(driver, reports / "shown" / "report.html", "run")
        summary = driver.find_element(By.CSS_SELECTOR, ".kit-summary")
        titles = [heading.text for heading in summary.find_elements(By.TAG_NAME, "h2")]
        assert titles == ["Parameters", "Metrics", "Artifacts"]
        parameters, metrics, artifacts = (
            cells(table) for table in summary.find_elements(By.CSS_SELECTOR, "table.kit-values")
        )
        assert ["seed", "1"] in parameters and ["task", "diagnosis"] in parameters
        metrics = {name: float(value) for name, value in metrics}
        assert set(metrics) == {"accuracy", "f1", "roc_auc"} and 0.9 < metrics["accuracy"] <= 1
        assert "model.skops" in [name for name, *_ in artifacts]
        text = driver.find_element(By.TAG_NAME, "body").text
        assert "|---|" not in text and "| name | value |" not in text  # Markdown never shows as text
        assert "fatal:" not in text  # git's own error words stay out of the summary
        # No bare value without context: a cell whose only output is a number (what seed_everything returned).
        bare = [output.text for output in driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-executeResult")
                if output.text.strip().lstrip("Out[0123456789]:").strip().isdigit()]  # fmt: skip
        assert bare == []


def test_a_sweep_report_plots_each_metric_against_each_parameter(reports):
    (sweep,) = (reports / "sweeps").iterdir()
    with chromium() as driver:
        look(driver, sweep / "report.html", "sweep")
        rows = driver.find_elements(By.CSS_SELECTOR, "table tr")
        assert len(rows) == 1 + len(SEEDS)
        plots = driver.find_elements(By.TAG_NAME, "svg")
        titles = [plot.find_element(By.TAG_NAME, "text").text for plot in plots]
        assert titles == ["accuracy against seed", "f1 against seed", "roc_auc against seed"]
        assert all(len(plot.find_elements(By.TAG_NAME, "circle")) == len(SEEDS) for plot in plots)
        links = [link.get_attribute("href") for link in driver.find_elements(By.CSS_SELECTOR, "table a")]
        assert len(links) == len(SEEDS) and all(Path(link.removeprefix("file://")).is_dir() for link in links)
