# The two commands of the README: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SNAKEMAKE := $(BIN)/snakemake

.PHONY: demo showcase showcase-run showcase-base-init showcase-base-init-run showcase-seeds \
	showcase-seeds-run test lint install system-deps clean-demo

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

# The showcase (docs/showcase/README.md) on one GPU machine with 16 cores: eight trainings share
# the GPU, one core each (their data lives on the GPU), so that the BM3D sweep and BM3D jobs keep
# the other cores; inference, segmentation and consistency (seconds each) do not wait for a
# training to end. `showcase-run` assumes the environment is ready. The base-init variant is the
# same run with task-adaptive networks started from the Base U-Net, in results/showcase-base-init.
SHOWCASE_JOBS := --profile profiles/local --resources gpu=8 \
	--set-resources infer:gpu=0 segment:gpu=0 consistency:gpu=0 \
	--set-threads train_segmentation=1 train_reconstruction=1 infer=2 segment=2 observe=6
SHOWCASE := --configfile config/showcase.yaml
SHOWCASE_BASE_INIT := --configfile config/showcase.yaml config/showcase-base-init.yaml
showcase: install
	$(MAKE) showcase-run
showcase-run:
	$(SNAKEMAKE) all $(SHOWCASE_JOBS) $(SHOWCASE)
	$(SNAKEMAKE) $(SHOWCASE_JOBS) $(SHOWCASE) --report results/showcase/report.html
showcase-base-init: install
	$(MAKE) showcase-base-init-run
showcase-base-init-run:
	$(SNAKEMAKE) all $(SHOWCASE_JOBS) $(SHOWCASE_BASE_INIT)
	$(SNAKEMAKE) $(SHOWCASE_JOBS) $(SHOWCASE_BASE_INIT) \
		--report results/showcase-base-init/report.html

# The seeded showcase (config/showcase-seeds.yaml): one run per seed, results/showcase-seeds-{seed},
# one after the other, each with the showcase's whole machine; then docs/scripts/seeds_collect.py
# gathers them. A failed seed fails the target after the others have run. One after the other,
# because side by side was no faster (H100, 2026-12-07): one seed alone took 12 min 19 s (and
# 11 min 47 s on an H200); two at once had done 149 and 122 of their 176 steps after 22 min 48 s,
# their trainings 1.4 times as long (seed 1's 13: 3,889 s summed, against seed 0's 2,800 alone).
# Alone, a seed's timings.md is its own and a finished seed stays finished.
SEEDS ?= 0 1 2
showcase-seeds: install
	$(MAKE) showcase-seeds-run
showcase-seeds-run:
	status=0; for seed in $(SEEDS); do \
		$(SNAKEMAKE) all $(SHOWCASE_JOBS) --configfile config/showcase.yaml config/showcase-seeds.yaml \
			--config seed=$$seed run=showcase-seeds-$$seed || status=1; \
	done; exit $$status

# Chromium (the report is rendered in a real browser) and SLURM (a real one-node cluster).
system-deps:
	tools/install-system-deps

# Two pytest-xdist workers: most tests wait on one workflow job at a time, so a second worker
# uses the other core (2-core machine, 2026-12-07: 16.6 min against 24.7 with one).
TEST_WORKERS ?= 2
test: install system-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check .
	$(SNAKEMAKE) --lint --configfile config/demo.yaml

clean-demo:
	rm -rf results/demo
