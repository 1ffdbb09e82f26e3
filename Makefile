# The two commands of the README: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SNAKEMAKE := $(BIN)/snakemake

.PHONY: demo test lint install clean-demo

install: $(VENV)/.installed

# torch is pinned to 2.13.0 in pyproject.toml: our machines hold its CPU build locally, a
# user's Linux machine gets the CUDA build of the same version from PyPI.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: install
	$(SNAKEMAKE) all --profile profiles/local --configfile config/demo.yaml

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check .
	$(SNAKEMAKE) --lint --configfile config/demo.yaml

clean-demo:
	rm -rf results/demo
