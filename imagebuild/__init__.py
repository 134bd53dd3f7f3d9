"""Host-side tooling that builds the kit image, also where nothing can be pulled.

Standard library only: it runs on a fresh machine before any virtual environment exists.
Run it as ``python3 -m imagebuild --help``; the Makefile's targets call it.
"""
