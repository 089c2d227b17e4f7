# `make demo` and `make test` each create .venv when it is missing and install gdlab into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-quick bench-peers bench-article bench-sweep bench-per-sample \
	bench-full-batch bench-report bench-optimizers bench-explorer bench-streaming sweep-example \
	gallery golden clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gdlab article --out results/article
	mkdir -p docs/images
	cp results/article/*.png docs/images/

# pytest in TEST_WORKERS processes (pytest-xdist), each taking whole test modules, so the
# tests that count compilations or share a module's fixtures stay in one process: on two
# cores the suite is mostly single-threaded compiling, and two workers took it from
# ~16 to ~13 min. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Benchmarks (docs/benchmarks.md). `make bench` installs the benchmark-only peers, runs
# the four workloads one after the other (never in parallel: they time the machine),
# each writing benchmarks/results/<name>.json through a temporary file, then
# regenerates docs/benchmarks.md. `make bench-quick` checks that everything runs, at
# small sizes, into results/bench-quick/ (ignored by git), in a few minutes.
BENCH_RESULTS := benchmarks/results
QUICK := results/bench-quick
PEERS := $(VENV)/.bench-peers
# e.g. `make bench BLAS_THREADS=1` on a busy shared machine, where OpenBLAS's spinning
# threads can make X.T @ X many times slower (W2, W3: NumPy's peers and gdlab's statistics)
BLAS_THREADS ?=
BLAS_FLAG := $(if $(BLAS_THREADS),--blas-threads $(BLAS_THREADS),)

bench: bench-peers
	$(MAKE) --no-print-directory -j1 bench-article bench-sweep bench-per-sample \
		bench-full-batch bench-report

# torch==2.13.0 is a CPU build on local disk (another version would download GBs).
bench-peers: $(PEERS)

$(PEERS): $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0 optax numba scikit-learn
	touch $(PEERS)

# W4 (article.py writes benchmarks/results/article.json itself, at its end)
bench-article: $(STAMP)
	$(BIN)/python benchmarks/article.py

# W1, about 5 minutes on two cores
bench-sweep: bench-peers
	$(BIN)/python benchmarks/sweep.py --K 1000 10000 100000 --million \
		--out $(BENCH_RESULTS)/.sweep.json.tmp
	mv $(BENCH_RESULTS)/.sweep.json.tmp $(BENCH_RESULTS)/sweep.json

# W2, about 8 minutes on two busy cores
bench-per-sample: bench-peers
	$(BIN)/python benchmarks/per_sample.py --repeats 3 $(BLAS_FLAG)

# W3, about 8 minutes on two busy cores
bench-full-batch: bench-peers
	$(BIN)/python benchmarks/full_batch.py --repeats 3 $(BLAS_FLAG)

bench-report: $(STAMP)
	$(BIN)/python benchmarks/report.py

bench-quick: bench-peers
	mkdir -p $(QUICK)
	$(BIN)/python benchmarks/sweep.py --K 1000 --steps 200 --repeats 1 --out $(QUICK)/sweep.json
	$(BIN)/python benchmarks/per_sample.py --rows 20000 --repeats 1 --out $(QUICK)/per_sample.json
	$(BIN)/python benchmarks/full_batch.py --rows 50000 --repeats 1 --out $(QUICK)/full_batch.json
	$(BIN)/python benchmarks/report.py --results $(QUICK) --out $(QUICK)/benchmarks.md

bench-optimizers: bench-peers
	$(BIN)/python benchmarks/optimizers.py

# The explorer's update latency (issue 13): slider event -> redrawn plot in headless
# Chromium, 4 optimizers x 500 steps; about a minute. Needs /usr/bin/chromium (Debian's
# chromium package, as .ci/run installs it). Writes benchmarks/results/explorer.json.
bench-explorer: $(STAMP)
	$(BIN)/python benchmarks/explorer.py

# Streaming from Parquet (issue 14): rows/s from a ~2 GB file the script writes into a
# temporary folder (and removes) against the same data in memory; a few minutes. Writes
# benchmarks/results/streaming.json.
bench-streaming: $(STAMP)
	$(BIN)/python benchmarks/streaming.py --gigabytes 2 --repeats 3

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
