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
.PHONY: help install demo test test-oldest lint typecheck bench package deploy clean

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

lint: $(STAMP) ## ruff, and cfn-lint on the SAM template
	$(BIN)/ruff check xrayctl function tests
	$(BIN)/ruff format --check xrayctl function tests
	$(BIN)/cfn-lint function/template.yaml

typecheck: $(STAMP) ## mypy on the package
	$(BIN)/mypy xrayctl function/lambda_function.py function/otel_function.py

# The first run installs the peers (awscli, aws-sam-cli) into .bench/peers/venv: a minute or two, once.
bench: $(STAMP) ## benchmarks against the AWS CLI and SAM CLI (prints figures, asserts nothing)
	$(BIN)/python tests/bench/run.py $(BENCH_ARGS)

package: $(STAMP) ## zip the function with its requirements for Lambda (function.zip)
	rm -rf build/function function.zip
	# Wheels for Lambda's platform and the template's runtime (python3.12), not this machine's Python.
	$(BIN)/pip install --quiet --target build/function --platform manylinux2014_x86_64 \
		--python-version 3.12 --implementation cp --only-binary=:all: --no-compile -r function/requirements.txt
	cp function/lambda_function.py build/function/
	cd build/function && $(CURDIR)/$(BIN)/python -m zipfile -c ../../function.zip .

deploy: ## build and deploy the function with SAM (needs AWS credentials and the SAM CLI)
	sam build --template-file function/template.yaml --build-dir .aws-sam/build
	sam deploy --template-file .aws-sam/build/template.yaml --stack-name xrayctl-demo \
		--capabilities CAPABILITY_IAM --resolve-s3

clean: ## remove the environment, build output and bench scratch (.bench, the peers' venv included)
	rm -rf $(VENV) $(OLDEST_VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis function.zip .aws-sam \
		.bench
