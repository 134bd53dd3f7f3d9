# The commands people type. `make` (or `make help`) lists them; every variable can be overridden:
# `make build IMAGE=kit:dev`, `make lab PORT=9999`.
.DEFAULT_GOAL := help
SHELL := /bin/bash

IMAGE ?= kit:latest
PORT ?= 8888
TF_VARIANT ?= cpu
PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=
DEBIAN_MIRROR ?= http://deb.debian.org/debian
# Extra `docker build` flags, e.g. BUILD_FLAGS="--cache-from type=gha --cache-to type=gha,mode=max" with buildx.
BUILD_FLAGS ?=
export DEBIAN_MIRROR BUILD_FLAGS

# The build tooling (tools/imagebuild, standard library only), and the image of images/ that `make build`,
# `make lab` and `make test` are about (tools/imagebuild/images.py lists them all).
BUILD := PYTHONPATH=tools $(PYTHON) -m imagebuild
IMAGE_NAME := kit
# `make model-image`: the run whose model the image serves, and the image's tag; `make deploy`: where its
# Kubernetes manifests go.
RUN ?=
MODEL_IMAGE ?= model:latest
OUT ?= deploy/model
# Tests that run inside the image (kit and the notebooks need its kernels); the others run from the host.
IMAGE_TESTS := tests/kit tests/notebooks tests/serving
# A terminal gets an interactive container (Ctrl-C stops it); a script gets plain output.
TTY := $(shell [ -t 0 ] && echo --interactive --tty)
# A line printed while such a container runs ends in a carriage return too: docker puts the terminal in raw mode.
NL := $(if $(TTY),\r\n,\n)

.PHONY: help lab build model-image deploy base wheelhouse lock check-lock venv devcontainer-cli hub-proxy browser prometheus lint test test-host test-image bench clean

# Each `$(NAME)` in a description is printed as its value (the variables the descriptions name are passed in).
help: ## list the targets (the default goal)
	@IMAGE='$(IMAGE)' PORT='$(PORT)' TF_VARIANT='$(TF_VARIANT)' MODEL_IMAGE='$(MODEL_IMAGE)' OUT='$(OUT)' awk 'BEGIN {FS = ":.*## "} \
	  /^[a-z-]+:.*## / { text = $$2; \
	    while (match(text, /\$$\([A-Z_]+\)/)) \
	      text = substr(text, 1, RSTART - 1) ENVIRON[substr(text, RSTART + 2, RLENGTH - 3)] substr(text, RSTART + RLENGTH); \
	    printf "  \033[1m%-12s\033[0m %s\n", $$1, text }' $(MAKEFILE_LIST)

# The server runs as the caller (images/kit/start.sh makes jovyan take the caller's UID and GID; root stays root),
# so that runs/ and every file made in ~/work belong to whoever typed `make lab`.
# The URL to open (with a new token) comes first, and again last once the server answers, after its start-up log.
lab: build ## build the image, then serve JupyterLab on port $(PORT) with this folder in ~/work; prints the URL to open
	@export JUPYTER_TOKEN=$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(24))'); \
	url="http://127.0.0.1:$(PORT)/lab?token=$$JUPYTER_TOKEN"; \
	printf 'JupyterLab is starting: %s\n' "$$url"; \
	{ for _ in $$(seq 600); do \
	    if $(PYTHON) -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$$url" 2> /dev/null; \
	    then printf '$(NL)JupyterLab is ready, open: %s$(NL)$(NL)' "$$url"; break; fi; \
	    sleep 0.1; \
	  done; } & \
	trap 'kill $$! 2> /dev/null' EXIT; \
	docker run --rm $(TTY) --publish $(PORT):$(PORT) --env JUPYTER_PORT=$(PORT) --env JUPYTER_TOKEN \
	  --user root --env NB_UID="$$(id -u)" --env NB_GID="$$(id -g)" \
	  --volume "$(CURDIR)":/home/jovyan/work $(IMAGE)

build: ## build the image $(IMAGE) (base image and wheels first, also air-gapped); TF_VARIANT=cuda for GPUs
	$(BUILD) build --name $(IMAGE_NAME) --image $(IMAGE) --variant $(TF_VARIANT)

model-image: ## build the model image of a run: make model-image RUN=ID (or runs/ID) MODEL_IMAGE=name:tag
	@[ -n "$(RUN)" ] || { echo "error: pass RUN=ID (or RUN=runs/ID), the run whose model to serve (kit runs lists them)" >&2; exit 2; }
	$(BUILD) model --run "$(RUN)" --image $(MODEL_IMAGE)

deploy: ## write the Kubernetes manifests of a model image into $(OUT) once it passes the parity gate: make deploy RUN=ID MODEL_IMAGE=name:tag
	@[ -n "$(RUN)" ] || { echo "error: pass RUN=ID (or RUN=runs/ID), the run whose model image to deploy (kit runs lists them)" >&2; exit 2; }
	$(BUILD) deploy --run "$(RUN)" --image $(MODEL_IMAGE) --output "$(OUT)"

base: ## make sure the base image is here: pull it, else make it from Debian packages with debootstrap
	$(BUILD) base --name $(IMAGE_NAME)

wheelhouse: ## download the locked wheels into wheelhouse/ (copy that folder to build offline)
	$(BUILD) wheelhouse --variant $(TF_VARIANT)

lock: venv ## refresh requirements/*.lock and environment.yml from requirements/*.in (needs PyPI)
	PYTHONPATH=tools $(VENV)/bin/python -m imagebuild lock

check-lock: ## fail when a lock no longer matches its requirements
	$(BUILD) check --variant $(TF_VARIANT)

venv: $(VENV)/.installed ## install the host's test tools into .venv (pytest, the Docker SDK, uv)

$(VENV)/.installed: requirements/host.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --requirement $<
	touch $@

DEVCONTAINER_CLI := tools/devcontainer-cli
devcontainer-cli: ## install the pinned devcontainer CLI from npm (for the devcontainer test; needs Node.js)
	@if command -v npm > /dev/null; then \
	  [ $(DEVCONTAINER_CLI)/node_modules/.package-lock.json -nt $(DEVCONTAINER_CLI)/package-lock.json ] || \
	    npm ci --prefix $(DEVCONTAINER_CLI) --no-audit --no-fund --loglevel=error; \
	else echo "npm is not installed: the devcontainer test will skip (and fail in CI)"; fi

HUB_PROXY := tools/configurable-http-proxy
hub-proxy: ## install JupyterHub's proxy, configurable-http-proxy, pinned, from npm (for the JupyterHub test; Node.js 20)
	@if command -v npm > /dev/null; then \
	  [ $(HUB_PROXY)/node_modules/.package-lock.json -nt $(HUB_PROXY)/package-lock.json ] || \
	    npm ci --prefix $(HUB_PROXY) --no-audit --no-fund --loglevel=error; \
	else echo "npm is not installed: the JupyterHub test will skip (and fail in CI)"; fi

browser: ## install Debian's chromium and chromium-driver for the browser test (as root; else it says what to do)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	  echo "installing Debian's chromium and chromium-driver (for the browser test)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver > /dev/null; \
	else echo "chromium is not installed: the browser test will skip (and fail in CI); install Debian's chromium and chromium-driver"; fi

prometheus: ## install Debian's prometheus (the server and promtool) for the alerting-rules test (as root; else it says what to do)
	@if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	  echo "installing Debian's prometheus (for the alerting-rules test)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    prometheus > /dev/null; \
	else echo "prometheus is not installed: the alerting-rules test will fail; install Debian's prometheus"; fi

lint: venv ## check style with ruff and kit's layers with import-linter (also part of make test)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && PYTHONPATH=. $(VENV)/bin/lint-imports

test: build venv devcontainer-cli hub-proxy browser prometheus ## build the image and run every test: image, devcontainer and tooling from here, kit and notebooks inside it (the two halves side by side)
	@echo "running test-host and test-image side by side: each prints its output when it ends"
	@$(MAKE) --no-print-directory --jobs=2 --output-sync=target test-host test-image

test-host: ## after make build (and the tools make test installs): the tests run from here (image, devcontainer, tooling, model images, Dask, JupyterHub)
	KIT_IMAGE=$(IMAGE) $(VENV)/bin/pytest $(addprefix --ignore=,$(IMAGE_TESTS)) $(PYTEST_ARGS)

test-image: ## after make build: the tests run inside the image (kit, the notebooks, kit serve)
	docker run --rm --env CI --volume "$(CURDIR)":/home/jovyan/project:ro --workdir /home/jovyan/project \
	  $(IMAGE) python -m pytest -p no:cacheprovider $(IMAGE_TESTS) $(PYTEST_ARGS)

bench: build venv ## measure the image (build, size, start-up), kit (start-up, run overhead), kit serve, kit sweep and input capture; figures on stdout (KIT_BENCH_SWEEP=dask: only the Dask sweep paths)
	command -v wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk > /dev/null; }
	KIT_IMAGE=$(IMAGE) $(VENV)/bin/python bench/image.py
	KIT_IMAGE=$(IMAGE) $(VENV)/bin/python bench/serve.py
	mkdir -p bench/results
	docker run --rm --user "$$(id -u):$$(id -g)" --volume "$(CURDIR)":/home/jovyan/project:ro \
	  --volume "$(CURDIR)/bench/results":/home/jovyan/results --env KIT_BENCH_RESULTS=/home/jovyan/results/kit.json \
	  $(IMAGE) python /home/jovyan/project/bench/kit.py
	docker run --rm --user "$$(id -u):$$(id -g)" --volume "$(CURDIR)":/home/jovyan/project:ro \
	  --volume "$(CURDIR)/bench/results":/home/jovyan/results --env KIT_BENCH_RESULTS_SWEEP=/home/jovyan/results/sweep.json \
	  --env KIT_BENCH_SWEEP --env KIT_BENCH_REPEAT $(IMAGE) python /home/jovyan/project/bench/sweep.py
	docker run --rm --user "$$(id -u):$$(id -g)" --volume "$(CURDIR)":/home/jovyan/project:ro \
	  --volume "$(CURDIR)/bench/results":/home/jovyan/results --env KIT_BENCH_RESULTS_INPUTS=/home/jovyan/results/inputs.json \
	  $(IMAGE) python /home/jovyan/project/bench/inputs.py

clean: ## remove .venv, caches and the wheelhouse (the image stays)
	rm -rf $(VENV) .pytest_cache .ruff_cache wheelhouse/*/*.whl wheelhouse/*/.complete $(DEVCONTAINER_CLI)/node_modules $(HUB_PROXY)/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
