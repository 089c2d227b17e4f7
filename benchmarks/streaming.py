"""Benchmark: rows per second of SGD streamed from a Parquet file against the same data in memory.

Workload: ``d = 10`` standard normal float64 features and a float64 target ``y = X w* +
0.1 N(0, 1)`` (``numpy.random.default_rng(0)``), written by this script into a temporary
folder (removed at the end) as one Parquet file of about ``--gigabytes`` GB (pyarrow's
defaults: snappy compression, row groups of ``--row-group`` rows). Plain SGD
(learning rate 1e-3, intercept fitted), batches of 128, in order (``sampling=
"sequential"``), one epoch, recording only the last step.

* ``stream``: ``gdlab.stream_run(file, ...)``; the program is compiled beforehand on a
  small file with the same shapes, so the timing is reading, converting, copying and
  computing.
* ``memory``: ``gdlab.run`` on the first ``--memory-rows`` rows already in memory as a
  built problem (a subset: the whole file need not fit), after a first call that compiles.

Rows per second is rows used (``128 * steps``) over the median wall time of
``--repeats`` runs, interleaved. The profile times the parts of a stream on the same file:
reading and converting the chunks alone (Parquet decode, columns to rows), the host to
device copies of those chunks, and the compiled chunk program run on one chunk as many
times as there are chunks (compute and per-chunk dispatch).

Targets (issue 14): at least 10^6 rows/s streamed, and at least half the in-memory speed.

Run: ``.venv/bin/python benchmarks/streaming.py [--gigabytes 2] [--repeats 3]
[--memory-rows 2000000]``. Writes ``benchmarks/results/streaming.json`` (atomically).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402

import gdlab  # noqa: E402

DIM, BATCH, LR = 10, 128, 1e-3
BYTES_PER_ROW = (DIM + 1) * 8
TARGET_ROWS_PER_S = 1e6
TARGET_RATIO = 0.5


def write_file(path: Path, rows: int, row_group: int, seed: int = 0) -> None:
    """The workload's rows, generated and written a row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    w = np.linspace(-1.0, 1.0, DIM)
    names = [f"x{j}" for j in range(DIM)] + ["y"]
    schema = pa.schema([(name, pa.float64()) for name in names])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, row_group):
            count = min(row_group, rows - start)
            X = rng.standard_normal((count, DIM))
            y = X @ w + 0.1 * rng.standard_normal(count)
            columns = [pa.array(X[:, j]) for j in range(DIM)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))


def read_rows(path: Path, rows: int):
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).iter_batches(batch_size=rows)
    first = next(table)
    X = np.column_stack([first.column(j).to_numpy() for j in range(DIM)])
    return X, first.column(DIM).to_numpy()


def profile(path: Path, spec) -> dict:
    """Where a stream's time goes: reading and converting, copying, the compiled steps."""
    import jax
    import jax.numpy as jnp

    from gdlab.streaming import CHUNK_ROWS, RowStream, open_parquet
    from gdlab.streaming._program import initial_carry, run_chunk

    source = open_parquet(path, "y")
    steps = CHUNK_ROWS // BATCH
    stream = RowStream(source, batch_size=BATCH, chunk_rows=steps * BATCH, dtype="float64",
                       intercept=True, labels=False, shuffle_buffer=None, seed=0)
    chunks = source.num_rows // (steps * BATCH)
    started = time.perf_counter()
    copy = 0.0
    kept = None
    for _ in range(chunks):
        X, y = stream.next_chunk()
        begun = time.perf_counter()
        kept = (jax.device_put(X), jax.device_put(y))
        jax.block_until_ready(kept)
        copy += time.perf_counter() - begun
    read = time.perf_counter() - started - copy
    # the compiled chunk program alone, on one chunk, as many times
    batch = gdlab.engine.prepare(gdlab.linear_regression(np.asarray(X[:256, :DIM]), y[:256]),
                                 spec, num_steps=chunks * steps, sampling="full",
                                 record_every=chunks * steps)
    leaves = [leaf[0] for leaf in batch.leaves()[0]]
    static = dict(loss_fn=batch.problem.loss_fn, build=batch.build, tree=batch.tree,
                  watch=batch.watch)
    carry = initial_carry(jnp.asarray(batch.start), leaves, **static)
    args = dict(batch_size=BATCH, steps=steps, internals=True, **static)
    run_chunk(carry, kept, {}, leaves, jnp.int32(0), jnp.int32(10**9), 1e8, **args)
    begun = time.perf_counter()
    for k in range(chunks):
        carry, out = run_chunk(carry, kept, {}, leaves, jnp.int32(k * steps),
                               jnp.int32(10**9), 1e8, **args)
        jax.device_get(out)
    compute = time.perf_counter() - begun
    rows = chunks * steps * BATCH
    return {"chunks": chunks, "rows": rows, "read_and_convert_s": read,
            "host_to_device_s": copy, "compiled_steps_s": compute,
            "rows_per_s": {"read_and_convert": rows / read, "host_to_device": rows / copy,
                           "compiled_steps": rows / compute}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--row-group", type=int, default=1_000_000)
    parser.add_argument("--memory-rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "streaming.json")
    args = parser.parse_args(argv)
    rows = int(args.gigabytes * 1e9 / BYTES_PER_ROW)
    spec = gdlab.optimizer("sgd", learning_rate=LR)
    machine = report.machine()
    folder = Path(tempfile.mkdtemp(prefix="gdlab-stream-bench-"))
    try:
        path, small = folder / "data.parquet", folder / "small.parquet"
        begun = time.perf_counter()
        write_file(path, rows, args.row_group)
        written = time.perf_counter() - begun
        size = path.stat().st_size
        print(f"wrote {rows:,} rows, {size / 1e9:.2f} GB in {written:.1f} s", flush=True)
        write_file(small, 70_000, 10_000, seed=1)
        steps = rows // BATCH
        memory_rows = min(args.memory_rows, rows)
        X, y = read_rows(path, memory_rows)
        problem = gdlab.linear_regression(X, y)
        memory_steps = memory_rows // BATCH

        def stream():
            t = gdlab.stream_run(path, spec, target="y", batch_size=BATCH, epochs=1,
                                 record_every=steps)
            assert t.step[-1] == steps
            return t

        def memory():
            return gdlab.run(problem, spec, num_steps=memory_steps, sampling="sequential",
                             batch_size=BATCH, record_every=memory_steps)

        begun = time.perf_counter()
        gdlab.stream_run(small, spec, target="y", batch_size=BATCH, epochs=1, record_every=1)
        compile_stream = time.perf_counter() - begun
        begun = time.perf_counter()
        memory()
        compile_memory = time.perf_counter() - begun
        times = {"stream": [], "memory": []}
        for repeat in range(args.repeats):
            for name, job in (("stream", stream), ("memory", memory))[::1 - 2 * (repeat % 2)]:
                begun = time.perf_counter()
                job()
                times[name].append(time.perf_counter() - begun)
            print(f"repeat {repeat + 1}: stream {times['stream'][-1]:.2f} s, memory "
                  f"{times['memory'][-1]:.2f} s", flush=True)
        # same-data check: the first memory_steps streamed steps are the in-memory run
        check_steps = min(memory_steps, 2_000)
        streamed = gdlab.stream_run(path, spec, target="y", batch_size=BATCH,
                                    num_steps=check_steps, record_every=check_steps)
        in_memory = gdlab.run(problem, spec, num_steps=check_steps, sampling="sequential",
                              batch_size=BATCH, record_every=check_steps)
        identical = bool(np.array_equal(streamed.params, in_memory.params))
        parts = profile(path, spec)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    stream_rate = steps * BATCH / statistics.median(times["stream"])
    memory_rate = memory_steps * BATCH / statistics.median(times["memory"])
    record = {
        "workload": f"SGD (lr {LR:g}), d = {DIM} float64 features + intercept, batches of "
                    f"{BATCH}, in order, one epoch",
        "machine": machine, "date": time.strftime("%Y-%m-%d %H:%M"),
        "note": "the development machine's 2 vCPUs are shared with other agents' work: "
                "absolute rates vary with its load; compare the two in the same run",
        "versions": report.versions("pyarrow"),
        "file": {"rows": rows, "bytes": size, "row_group_rows": args.row_group,
                 "compression": "snappy (pyarrow default)", "write_s": written},
        "repeats": args.repeats,
        "stream": {"rows": steps * BATCH, "times_s": times["stream"],
                   "median_s": statistics.median(times["stream"]),
                   "rows_per_s": stream_rate, "first_call_small_file_s": compile_stream},
        "memory": {"rows": memory_steps * BATCH, "subset": f"the file's first {memory_rows:,} "
                   "rows, a built problem in memory", "times_s": times["memory"],
                   "median_s": statistics.median(times["memory"]), "rows_per_s": memory_rate,
                   "first_call_s": compile_memory},
        "ratio_stream_to_memory": stream_rate / memory_rate,
        "bit_identical_first_steps": {"steps": check_steps, "identical": identical},
        "profile": parts,
        "targets": {"rows_per_s": {"min": TARGET_ROWS_PER_S, "value": stream_rate,
                                   "met": stream_rate >= TARGET_ROWS_PER_S},
                    "ratio_to_memory": {"min": TARGET_RATIO, "value": stream_rate / memory_rate,
                                        "met": stream_rate / memory_rate >= TARGET_RATIO}},
    }
    record["machine"]["load_average_at_end"] = list(report.load_average())
    record["peak_rss_gib"] = report.peak_rss_gib()
    report.write_json(args.out, record)
    print(f"stream {stream_rate:,.0f} rows/s, memory {memory_rate:,.0f} rows/s, ratio "
          f"{stream_rate / memory_rate:.2f}; profile {parts['rows_per_s']}; wrote {args.out}")


if __name__ == "__main__":
    main()
