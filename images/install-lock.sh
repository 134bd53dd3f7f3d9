#!/bin/bash
# Usage: install-lock.sh LOCK WHEELHOUSE
#
# Makes the venv /opt/venv and installs LOCK into it, every file checked against the lock's hashes and no
# dependency resolved beyond it: from the wheels in WHEELHOUSE when there are any (the air-gapped build, `make
# wheelhouse` filled it), else from PIP_INDEX_URL (a plain `docker build` on a connected machine). The images'
# `deps` stages run it, so that no wheel, wheelhouse or pip cache reaches an image.
set -euo pipefail
lock=$1 wheelhouse=$2
python3 -m venv /opt/venv
if compgen -G "$wheelhouse/*.whl" > /dev/null; then
  source=(--no-index --find-links "$wheelhouse")
else
  source=(--index-url "${PIP_INDEX_URL:?set PIP_INDEX_URL, or fill the wheelhouse with make wheelhouse}")
fi
/opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps --require-hashes \
  "${source[@]}" --requirement "$lock"
