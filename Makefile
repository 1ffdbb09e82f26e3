# The two commands of the README: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SNAKEMAKE := $(BIN)/snakemake

.PHONY: demo showcase showcase-run test lint install system-deps clean-demo

install: $(VENV)/.installed

# torch is pinned to 2.13.0 in pyproject.toml: our machines hold its CPU build locally, a
# user's Linux machine gets the CUDA build of the same version from PyPI.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The run, then its HTML report (every table and figure with its caption).
demo: install
	$(SNAKEMAKE) all --profile profiles/local --configfile config/demo.yaml
	$(SNAKEMAKE) --profile profiles/local --configfile config/demo.yaml \
		--report results/demo/report.html

# The showcase (docs/showcase/README.md) on one GPU machine with 16 cores: four network jobs
# share the GPU, each with three threads. `showcase-run` assumes the environment is ready.
SHOWCASE := --configfile config/showcase.yaml --resources gpu=4 \
	--set-threads train_segmentation=3 train_reconstruction=3 infer=2 segment=2
showcase: install
	$(MAKE) showcase-run
showcase-run:
	$(SNAKEMAKE) all --profile profiles/local $(SHOWCASE)
	$(SNAKEMAKE) --profile profiles/local $(SHOWCASE) --report results/showcase/report.html

# Chromium (the report is rendered in a real browser) and SLURM (a real one-node cluster).
system-deps:
	tools/install-system-deps

test: install system-deps
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check .
	$(SNAKEMAKE) --lint --configfile config/demo.yaml

clean-demo:
	rm -rf results/demo
