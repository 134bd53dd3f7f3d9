"""The project root, from which the tests find every file they read, and the folders they read most."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The notebooks the project ships.
NOTEBOOKS = ROOT / "notebooks"
