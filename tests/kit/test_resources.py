"""Every run records what its kernel and the kernel's children used: CPU seconds and peak memory."""

from __future__ import annotations

import kit
from tests.utils.commands import kit as kit_command
from tests.utils.notebooks import write_notebook

MB = 1 << 20

#: A child process that holds 150 MB for a second and spins for half a second.
CHILD = """
import subprocess, sys
code = "import time; m = bytearray(150 << 20); m[::4096] = b'x' * len(m[::4096]); t = time.process_time()\\n" \\
       "while time.process_time() - t < 0.5: pass\\ntime.sleep(1)"
subprocess.run([sys.executable, "-c", code], check=True)
"""


def test_a_run_records_cpu_seconds_and_peak_memory_of_the_kernel_and_its_children(tmp_path):
    notebook = write_notebook(
        tmp_path / "heavy.ipynb",
        None,
        "import time\nheld = bytearray(200 << 20)\nheld[::4096] = b'x' * len(held[::4096])",
        "start = time.process_time()\nwhile time.process_time() - start < 1.0:\n    pass",
        CHILD,
    )
    run = kit.run(notebook, runs_dir=tmp_path / "runs", run_id="heavy")
    used = run.info.resources
    assert used is not None and used.interval_s > 0
    assert 1.5 <= used.cpu_s <= run.info.duration_s * 2 + 1  # the kernel's second and the child's half
    assert used.peak_rss_bytes >= (200 + 150) * MB  # both held at once
    assert used.peak_rss_bytes < 2048 * MB
    listed = kit_command("runs", cwd=tmp_path)
    header, row = listed.stdout.splitlines()[:2]
    cell = {name: row[header.index(name) :].split()[0] for name in ("cpu_s", "peak_mb")}  # columns are aligned
    assert float(cell["cpu_s"]) >= 1.5 and float(cell["peak_mb"]) >= 350
    shown = kit_command("runs", "show", "heavy", cwd=tmp_path).stdout
    assert "CPU seconds, peak memory" in shown


def test_a_quick_run_still_records_its_kernel(tmp_path):
    run = kit.run(write_notebook(tmp_path / "quick.ipynb", None, "1 + 1"), runs_dir=tmp_path / "runs")
    assert run.info.resources.cpu_s > 0.05 and run.info.resources.peak_rss_bytes > 20 * MB
    status = run.layout.status.read_text()
    assert '"resources": {' in status and '"peak_rss_bytes"' in status
