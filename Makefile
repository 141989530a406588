# The verbs a contributor needs. Every target works from a fresh clone: the first one that needs the
# environment creates it (.venv, with the `dev` and `local` extras, the package installed editable).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# make bench BENCH_ARGS="--only cli --markdown"
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install demo test test-builtin-runtime test-oldest lint typecheck bench package lock deploy dist \
	test-sdist clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv with xrayctl and its dev + local extras

demo: $(STAMP) ## invoke the function on the local stack, draw its trace, list its annotations
	$(BIN)/xrayctl --local invoke
	$(BIN)/xrayctl --local list-annotations --since 15m

test: $(STAMP) ## run the test suite
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# macOS and Windows have no awslambdaric: there the runtime child runs xrayctl's own loop, and on Windows the
# child's output is read by polling. The local stack's tests run again on both here.
test-builtin-runtime: $(STAMP) ## the local stack's tests on xrayctl's own runtime loop, as on macOS and Windows
	$(BIN)/python -m pytest -q tests/e2e --lambda-runtime=builtin --sandbox-io=poll $(PYTEST_ARGS)

# The oldest Python setup.cfg supports, in its own venv: the first python3.10 that runs, under pyenv or on
# PATH (a pyenv shim for a version not selected is on PATH but does not run).
PYTHON_OLDEST ?= $(shell for p in $$HOME/.pyenv/versions/3.10.*/bin/python3.10 $$(command -v python3.10); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && echo "$$p" && break; done)
OLDEST_VENV := .venv-3.10
OLDEST_STAMP := $(OLDEST_VENV)/.installed

$(OLDEST_STAMP): setup.cfg pyproject.toml
	@test -n "$(PYTHON_OLDEST)" || { echo "make test-oldest: no python3.10 on PATH or under ~/.pyenv"; exit 1; }
	$(PYTHON_OLDEST) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/pip install --quiet --upgrade pip
	$(OLDEST_VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(OLDEST_STAMP)

test-oldest: $(OLDEST_STAMP) ## the test suite on Python 3.10 (the load test left out), in .venv-3.10
	$(OLDEST_VENV)/bin/python -m pytest -q -m 'not load' $(PYTEST_ARGS)

# sam validate --lint needs the SAM CLI: the one on PATH, or the one `make bench` installs for its peers.
SAM ?= $(shell command -v sam 2>/dev/null || ls .bench/peers/venv/bin/sam 2>/dev/null)

lint: $(STAMP) ## ruff, and cfn-lint (and sam validate --lint, where sam is installed) on the SAM template
	$(BIN)/ruff check xrayctl function tests scripts
	$(BIN)/ruff format --check xrayctl function tests scripts
	$(BIN)/cfn-lint function/template.yaml
	@if [ -n "$(SAM)" ]; then SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --region us-east-1 \
		--template-file function/template.yaml; \
	else echo "make lint: sam validate skipped (no SAM CLI on PATH or in .bench/peers/venv)"; fi

typecheck: $(STAMP) ## mypy on the package
	$(BIN)/mypy xrayctl function/lambda_function.py function/otel_function.py scripts

# The first run installs the peers (awscli, aws-sam-cli) into .bench/peers/venv: a minute or two, once.
bench: $(STAMP) ## benchmarks against the AWS CLI and SAM CLI (prints figures, asserts nothing)
	$(BIN)/python tests/bench/run.py $(BENCH_ARGS)

# The template's architecture and runtime: the package holds wheels for them, whatever this machine is.
LAMBDA_ARCH ?= arm64
LAMBDA_PYTHON ?= 3.13
STACK ?= xrayctl-demo

package: $(STAMP) ## function.zip for Lambda: the function, aws-xray-sdk and wrapt as pinned (~350 KB), checked
	$(BIN)/python scripts/package_function.py build --arch $(LAMBDA_ARCH) --python $(LAMBDA_PYTHON) \
		--out function.zip --check

lock: $(STAMP) ## pin what the package bundles: function/requirements.txt -> function/requirements.lock
	$(BIN)/python scripts/package_function.py lock

deploy: $(STAMP) ## deploy function/template.yaml with SAM: make deploy STACK=name (needs sam, AWS credentials)
	@$(BIN)/python scripts/deploy_prerequisites.py
	$(MAKE) --no-print-directory package
	SAM_CLI_TELEMETRY=0 sam deploy --template-file function/template.yaml --stack-name $(STACK) \
		--capabilities CAPABILITY_IAM --resolve-s3 --no-fail-on-empty-changeset

dist: $(STAMP) ## the sdist and the wheel in dist/, checked by twine check --strict
	rm -rf dist
	$(BIN)/python -m build --outdir dist . >/dev/null
	$(BIN)/twine check --strict dist/*

SDIST_DIR := build/sdist-test

test-sdist: dist ## the test suite run from the sdist, unpacked and installed in a venv of its own
	rm -rf $(SDIST_DIR) && mkdir -p $(SDIST_DIR)
	tar -xzf dist/xrayctl-*.tar.gz -C $(SDIST_DIR)
	cd $(SDIST_DIR)/xrayctl-* && $(PYTHON) -m venv .venv && .venv/bin/pip install --quiet '.[dev]' \
		&& .venv/bin/python -m pytest -q -m 'not load' -p no:cacheprovider $(PYTEST_ARGS)

clean: ## remove the environment, build output and bench scratch (.bench, the peers' venv included)
	rm -rf $(VENV) $(OLDEST_VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis function.zip .aws-sam \
		.bench
