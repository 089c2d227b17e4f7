# `make demo` and `make test` each create .venv when it is missing and install gdlab into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-optimizers bench-sweep sweep-example gallery golden clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gdlab article --out results/article
	mkdir -p docs/images
	cp results/article/*.png docs/images/

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/article.py

# The peers of the optimizer and sweep benchmarks are benchmark-only installs.
bench-optimizers: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0 optax
	$(BIN)/python benchmarks/optimizers.py

bench-sweep: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0 optax numba
	$(BIN)/python benchmarks/sweep.py --K 1000 10000 100000 --million

sweep-example: $(STAMP)
	$(BIN)/gdlab sweep --config examples/article-momentum.toml --out results/sweep --no-progress
	cp results/sweep/heatmap.png docs/images/sweep-heatmap.png
	cp results/sweep/curves.png docs/images/sweep-curves.png

gallery: $(STAMP)
	$(BIN)/python docs/schedule_gallery.py

# Regenerate the golden values from the real libraries (test-time oracles only).
golden: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0 optax keras
	$(BIN)/python tests/golden/generate.py

clean:
	rm -rf $(VENV) results .pytest_cache
