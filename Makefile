# `make demo` and `make test` each create .venv when it is missing and install gdlab into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench gallery golden clean

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
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/article.py

gallery: $(STAMP)
	$(BIN)/python docs/schedule_gallery.py

# Regenerate the golden values from the real libraries (test-time oracles only).
golden: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0 optax keras
	$(BIN)/python tests/golden/generate.py

clean:
	rm -rf $(VENV) results .pytest_cache
