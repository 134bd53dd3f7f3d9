"""Host-side tooling that builds the project's images, also where nothing can be pulled.

The images are the folders of ``images/``, listed by name in ``images.py``. Standard library only: it runs on
a fresh machine before any virtual environment exists. Run it as ``PYTHONPATH=tools python3 -m imagebuild
--help``; the Makefile's targets call it.
"""
