# The kit image: JupyterLab, scikit-learn, TensorFlow, papermill and the kit package in one container.
# `make build` builds it anywhere, air-gapped included; on a connected machine a plain `docker build -t kit .`
# works too. The files copied into it are in images/kit/; the model image is images/model/. The build context is
# the project root, shared by every image; the root .dockerignore says what of it the build sees.
# No `# syntax=` line on purpose: that would pull a frontend image, which air-gapped machines cannot.

# Debian's Python 3.11 is the interpreter the lock files are compiled for; where this cannot be pulled,
# `make build` makes it from Debian packages with debootstrap and tags it with this name.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS os
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8
# tini is PID 1: it reaps orphaned kernel processes and forwards `docker stop` to the server.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends python3 tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# Dependencies, installed in a stage of their own: no wheel, wheelhouse or pip cache reaches the image.
FROM os AS deps
RUN apt-get update \
 && apt-get install --yes --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/*
# cpu (default) or cuda: the GPU build, tensorflow[and-cuda] with CUDA from PyPI (Linux x86_64).
ARG TF_VARIANT=cpu
# Used only when wheelhouse/<variant>/ is empty, i.e. a plain `docker build .` on a connected machine.
ARG PIP_INDEX_URL=https://pypi.org/simple
COPY requirements/${TF_VARIANT}.lock /tmp/requirements.lock
COPY wheelhouse/${TF_VARIANT}/ /tmp/wheelhouse/
COPY images/install-lock.sh /tmp/
RUN /tmp/install-lock.sh /tmp/requirements.lock /tmp/wheelhouse

FROM os
ARG TF_VARIANT=cpu
# git: runs record the project's commit and whether it is dirty. Mounted projects belong to other UIDs, which
# git refuses by default ("dubious ownership"); in a single-user container every directory is the user's own.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
# The Jupyter Docker Stacks user: UID 1000, GID 100 (users), home /home/jovyan, work in ~/work.
ARG NB_USER=jovyan
ARG NB_UID=1000
ARG NB_GID=100
# Home and ~/work are writable by any UID (sticky, like /tmp): CI runners start the image as their own user
# (`docker run --user "$(id -u):$(id -g)"`), whose Jupyter, IPython and matplotlib files go to $HOME.
# /etc/passwd is writable by its group, root, as in the Docker Stacks: images/kit/start.sh names a UID that has no
# entry (`--user UID:0`, OpenShift's way).
RUN useradd --create-home --shell /bin/bash --uid "${NB_UID}" --gid "${NB_GID}" --no-user-group "${NB_USER}" \
 && mkdir -p "/home/${NB_USER}/work" /etc/kit \
 && chown -R "${NB_UID}:${NB_GID}" "/home/${NB_USER}" \
 && chmod 1777 "/home/${NB_USER}" "/home/${NB_USER}/work" \
 && chmod g+w /etc/passwd
# jovyan owns the environment, as in the Jupyter Docker Stacks: `pip install` works in a terminal, and the
# devcontainer installs the workspace's kit over the image's, editable.
COPY --from=deps --chown=${NB_UID}:${NB_GID} /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} VIRTUAL_ENV=/opt/venv \
    NB_USER=${NB_USER} NB_UID=${NB_UID} NB_GID=${NB_GID} JUPYTER_PORT=8888
# TensorFlow's C++ log without its INFO lines: notebooks and terminals stay clean, its warnings and errors
# still show, Python's own output is untouched; TF_CPP_MIN_LOG_LEVEL=0 brings them back. tf_notices applies
# the setting to the two lines TensorFlow prints before it reads it (see the module).
ENV TF_CPP_MIN_LOG_LEVEL=1
COPY images/kit/tf_notices.py images/kit/tf_notices.pth /opt/venv/lib/python3.11/site-packages/
# The python3 kernel runs this interpreter by its full path, whatever PATH the client starts it with.
RUN python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" \
 && python -m compileall -q /opt/venv/lib/python3.11/site-packages/tf_notices.py \
 && rm -rf /tmp/* /root/.ipython
COPY requirements/${TF_VARIANT}.lock /etc/kit/requirements.lock
COPY images/kit/jupyter_server_config.py /opt/venv/etc/jupyter/jupyter_server_config.py
# JupyterLab's defaults for a closed network: no news or update toast asking the user at start, no build check
# (the image has no Node.js to build with, and the check logs a warning every time Lab loads).
COPY images/kit/labconfig/ /opt/venv/etc/jupyter/labconfig/
COPY images/kit/healthcheck.py /usr/local/bin/healthcheck
# The entry point: runs the command as NB_UID:NB_GID when started as root, names a UID without a passwd entry.
# Then the Jupyter Docker Stacks' commands: start-notebook.py (the default) serves JupyterLab, or, when a JupyterHub
# spawner started the container, hands over to start-singleuser.py (jupyterhub-singleuser, behind the hub's login).
COPY images/kit/start.sh images/kit/start-notebook.py images/kit/start-singleuser.py /usr/local/bin/

# Our code last, so that changing it rebuilds in seconds.
COPY pyproject.toml /tmp/kit/
COPY kit/ /tmp/kit/kit/
RUN pip install --no-cache-dir --disable-pip-version-check --no-deps --no-index --no-build-isolation /tmp/kit \
 && rm -rf /tmp/kit \
 && chown -R "${NB_UID}:${NB_GID}" /opt/venv/lib/python3*/site-packages/kit* /opt/venv/bin/kit \
 && pip list --format=freeze --disable-pip-version-check > /etc/kit/packages.txt
COPY --chown=${NB_UID}:${NB_GID} notebooks/ /home/${NB_USER}/work/notebooks/

USER ${NB_UID}
# HOME also for a UID that is not in /etc/passwd (`docker run --user`), which Docker would give HOME=/.
# Runs go to ~/work/runs wherever kit runs, in a terminal or from a notebook in ~/work/notebooks.
ENV HOME=/home/${NB_USER} KIT_RUNS_DIR=/home/${NB_USER}/work/runs
WORKDIR /home/${NB_USER}/work
EXPOSE 8888
HEALTHCHECK --interval=3s --timeout=2s --start-period=10s --retries=3 CMD ["healthcheck"]
# tini is PID 1 and start.sh its child, which becomes the command (exec) as the user it should run as.
ENTRYPOINT ["tini", "-g", "--", "start.sh"]
CMD ["start-notebook.py"]

# Provenance, last: it changes with every build and must not invalidate a layer. `make build` sets it.
ARG SOURCE=unknown
ARG REVISION=unknown
ARG CREATED=unknown
ARG LOCK_SHA256=unknown
LABEL org.opencontainers.image.title="kit" \
      org.opencontainers.image.description="JupyterLab, scikit-learn, TensorFlow, papermill and kit" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      io.kit.lock.sha256="${LOCK_SHA256}" \
      io.kit.tensorflow.variant="${TF_VARIANT}"
ENV KIT_IMAGE_SOURCE=${SOURCE} KIT_IMAGE_REVISION=${REVISION} KIT_IMAGE_CREATED=${CREATED} \
    KIT_IMAGE_TENSORFLOW_VARIANT=${TF_VARIANT}
