"""The project root, from which the tests find every file they read."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
