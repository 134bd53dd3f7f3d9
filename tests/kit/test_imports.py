"""Every module of kit imports, here in the image where every optional dependency is installed.

Most modules are imported by some test, but a backend reached only through a lazy import (kit.sweeping.dask, say)
would otherwise fail first on a user's cluster: a moved name is caught here, in seconds.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import kit

MODULES = sorted(m.name for m in pkgutil.walk_packages(kit.__path__, "kit.") if not m.name.endswith(".__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_the_module_imports(name):
    importlib.import_module(name)
