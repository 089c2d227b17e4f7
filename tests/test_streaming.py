"""gdlab.stream_run: training streamed from a Parquet file.

The references are independent of the streaming code: ``gdlab.run`` on the same table
read whole by pandas (in order: the same bits), a row-by-row Python version of the
shuffle buffer written from its definition, the row ids a stream hands out, an
uninterrupted run (for resume), and closed-form loss values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import gdlab
from gdlab import InvalidParameterError
from gdlab.cli import app
from gdlab.sampling import hash_uint32 as jax_hash
from gdlab.streaming import RowStream, hash_uint32, open_parquet, stream_run

ROWS, DIM, GROUP = 2_000, 3, 300  # row groups of 300: batches of 7 or 128 straddle them
runner = CliRunner()


def _write(path, frame, group=GROUP):
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   row_group_size=group)
    return path


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A regression table (features x0..x2, target y) as a Parquet file and in memory."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(ROWS, DIM))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=ROWS)
    frame = pd.DataFrame({f"x{j}": X[:, j] for j in range(DIM)} | {"y": y})
    path = _write(tmp_path_factory.mktemp("stream") / "table.parquet", frame)
    return path, frame


def _in_memory(frame, target="y", kind="least_squares", **settings):
    """The table read whole by pandas, as the problem ``gdlab.run`` would get."""
    X = frame.drop(columns=target).to_numpy(np.float64)
    y = frame[target].to_numpy()
    if kind == "least_squares":
        return gdlab.linear_regression(X, y.astype(np.float64))
    if kind == "logistic":
        return gdlab.logistic_regression(X, y, **settings)
    return gdlab.softmax_regression(X, y, **settings)


def _assert_same(streamed, memory):
    """Every quantity both compute, to the bit."""
    for name in ("step", "params", "batch_loss", "grad_norm", "learning_rate"):
        np.testing.assert_array_equal(getattr(streamed, name), getattr(memory, name), name)
    assert streamed.hyperparams.keys() == memory.hyperparams.keys()
    for key in memory.hyperparams:
        np.testing.assert_array_equal(streamed.hyperparams[key], memory.hyperparams[key])
    assert streamed.internals.keys() == memory.internals.keys()
    for key in memory.internals:
        np.testing.assert_array_equal(streamed.internals[key], memory.internals[key], key)
    assert (streamed.status.kind, streamed.status.step) == (memory.status.kind,
                                                            memory.status.step)
    assert streamed.dtype == memory.dtype and streamed.params.dtype == memory.params.dtype


# in order: the in-memory run, bit for bit ------------------------------------------------

CASES = [  # optimizer, batch size, dtype, record_every, chunk rows
    (gdlab.optimizer("sgd", learning_rate=0.05), 7, "float64", 1, 700),
    (gdlab.optimizer("momentum", learning_rate=0.02, momentum=0.9), 128, "float32", 5, 512),
    (gdlab.optimizer("adam", learning_rate=0.01), 1, "float64", 3, 97),
    (gdlab.optimizer("sgd", learning_rate=gdlab.schedules.cosine(0.05, 600)), 64, "float64",
     4, 4096),
    (gdlab.optimizer("adam", learning_rate=gdlab.schedules.exponential(0.02, 0.99)), 33,
     "float32", 2, 1000),
]


@pytest.mark.parametrize("spec, batch_size, dtype, record_every, chunk_rows", CASES,
                         ids=["sgd-B7", "momentum-B128-f32", "adam-B1", "cosine-B64",
                              "adam-exp-B33-f32"])
def test_in_order_a_streamed_run_is_the_in_memory_run_bit_for_bit(
        table, spec, batch_size, dtype, record_every, chunk_rows):
    path, frame = table
    # more than two epochs (each drops its last ROWS % batch_size rows), a last partial
    # chunk; with batches of 128, three epochs counted by `epochs`
    steps = 3 * (ROWS // 128) if batch_size == 128 else min(2 * (ROWS // batch_size) + 5, 600)
    by = {"epochs": 3} if batch_size == 128 else {"num_steps": steps}
    memory = gdlab.run(_in_memory(frame), spec, num_steps=steps, sampling="sequential",
                       batch_size=batch_size, dtype=dtype, record_every=record_every)
    streamed = stream_run(path, spec, target="y", batch_size=batch_size, dtype=dtype,
                          record_every=record_every, chunk_rows=chunk_rows, **by)
    assert streamed.step[-1] == steps
    _assert_same(streamed, memory)
    assert np.isnan(streamed.loss).all() and np.isnan(streamed.init_loss)


@pytest.mark.parametrize("kind", ["logistic", "softmax"])
def test_classifiers_stream_bit_for_bit(tmp_path, kind):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(900, 2))
    k = 2 if kind == "logistic" else 3
    labels = (np.argmax(X @ rng.normal(size=(2, k)), axis=1)).astype(np.int64)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": labels})
    path = _write(tmp_path / "c.parquet", frame, group=128)
    spec = gdlab.optimizer("adam", learning_rate=0.05)
    extra = {} if kind == "logistic" else {"num_classes": 3}
    memory = gdlab.run(_in_memory(frame, "label", kind, l2=0.01, **extra), spec,
                       num_steps=60, sampling="sequential", batch_size=20)
    streamed = stream_run(path, spec, target="label", problem=kind, l2=0.01, batch_size=20,
                          num_steps=60, chunk_rows=200, **extra)
    _assert_same(streamed, memory)


def test_evaluation_pass_gives_the_full_data_loss_and_gradient(table):
    path, frame = table
    problem = _in_memory(frame)
    streamed = stream_run(path, gdlab.optimizer("sgd", learning_rate=0.05), target="y",
                          batch_size=50, epochs=1, evaluate=True, chunk_rows=333)
    # closed forms of the mean squared error at the start and at the end
    assert streamed.init_loss == pytest.approx(problem.loss(problem.init_params), rel=1e-12)
    assert streamed.loss[-1] == pytest.approx(problem.loss(streamed.final_params), rel=1e-12)
    assert streamed.full_grad_norm[-1] == pytest.approx(
        np.linalg.norm(problem.gradient(streamed.final_params)), rel=1e-10)
    assert np.isnan(streamed.loss[:-1]).all()


def test_divergence_is_reported_with_its_step(table):
    path, frame = table
    spec = gdlab.optimizer("sgd", learning_rate=3.0)
    streamed = stream_run(path, spec, target="y", batch_size=10, num_steps=150)
    # the same arithmetic in memory, without its bound: the batch losses it goes through
    memory = gdlab.run(_in_memory(frame), spec, num_steps=150, sampling="sequential",
                       batch_size=10, divergence_factor=1e300)
    losses = memory.batch_loss
    blown = ~np.isfinite(losses) | (losses > 1e8 * losses[0])
    position = int(np.flatnonzero(blown)[0])  # the update that starts from a diverged state
    assert streamed.status.kind == "diverged" and streamed.status.step == position
    assert streamed.step[-1] == position
    np.testing.assert_array_equal(streamed.final_params, memory.params[position - 1])
    np.testing.assert_array_equal(streamed.params, memory.params[:position])


# the shuffle buffer ------------------------------------------------------------------------

def _ids_file(tmp_path, rows=1_000, group=128):
    frame = pd.DataFrame({"x": np.arange(rows, dtype=np.float64) * 0.5,
                          "id": np.arange(rows, dtype=np.float64)})
    return open_parquet(_write(tmp_path / "ids.parquet", frame, group=group), "id")


def _stream_ids(source, buffer, seed, epochs, batch_size=10, chunk_rows=230):
    stream = RowStream(source, batch_size=batch_size, chunk_rows=chunk_rows, dtype="float64",
                       intercept=False, labels=False, shuffle_buffer=buffer, seed=seed)
    used = batch_size * (source.num_rows // batch_size)
    total = epochs * used
    ids = np.concatenate([stream.next_chunk(min(chunk_rows, total - at))[1]
                          for at in range(0, total, chunk_rows)])
    return ids.astype(np.int64).reshape(epochs, used)


def _reference_buffer(n, buffer, seed, epoch):
    """tf.data's shuffle buffer row by row: fill, then each row evicts a hashed slot's
    row, then the rest leave in hashed order (written from the definition)."""
    S = min(buffer, n)
    slots, out = list(range(S)), []
    for row in range(S, n):
        h = int(hash_uint32(seed, epoch, row))
        j = (h * S) >> 32
        out.append(slots[j])
        slots[j] = row
    keys = [int(hash_uint32(seed, epoch | 0x40000000, i)) for i in range(S)]
    order = sorted(range(S), key=lambda i: (keys[i], i))
    return out + [slots[i] for i in order]


@pytest.mark.parametrize("buffer", [1, 64, 1_000, 5_000])
def test_the_shuffle_buffer_shows_every_row_once_per_epoch(tmp_path, buffer):
    source = _ids_file(tmp_path)
    ids = _stream_ids(source, buffer, seed=5, epochs=3)
    for epoch in ids:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(1_000))
    for e in range(3):
        np.testing.assert_array_equal(ids[e], _reference_buffer(1_000, buffer, 5, e))
    if buffer == 1:  # one slot: the file's order
        np.testing.assert_array_equal(ids[0], np.arange(1_000))
    else:
        assert (ids[0] != ids[1]).mean() > 0.9  # a new order each epoch


def test_the_shuffle_seed_reproduces_and_another_seed_differs(tmp_path):
    source = _ids_file(tmp_path)
    first = _stream_ids(source, 100, seed=11, epochs=2)
    np.testing.assert_array_equal(first, _stream_ids(source, 100, seed=11, epochs=2,
                                                     chunk_rows=77))
    assert (first != _stream_ids(source, 100, seed=12, epochs=2)).mean() > 0.9


def test_the_buffer_keeps_a_row_no_earlier_than_buffer_places_before_it(tmp_path):
    source = _ids_file(tmp_path)
    ids = _stream_ids(source, 50, seed=0, epochs=1)[0]
    # a local shuffle: the row leaving at place p arrived by place p + 50
    assert np.all(ids <= np.arange(1_000) + 50)


def test_a_shuffled_run_is_the_in_memory_run_on_the_buffer_order(tmp_path, table):
    path, frame = table
    # the order the buffer hands the rows out in, read from a file of row ids (other row
    # groups: the order depends on the rows' places, not on how the file is cut)
    ids = pd.DataFrame({"x": np.zeros(ROWS), "id": np.arange(ROWS, dtype=np.float64)})
    order = _stream_ids(open_parquet(_write(tmp_path / "r.parquet", ids, group=512), "id"),
                        300, seed=4, epochs=1, batch_size=20)[0]
    spec = gdlab.optimizer("adam", learning_rate=0.01)
    streamed = stream_run(path, spec, target="y", batch_size=20, epochs=1,
                          sampling="shuffle", shuffle_buffer=300, seed=4, chunk_rows=260)
    memory = gdlab.run(_in_memory(frame.iloc[order]), spec, num_steps=ROWS // 20,
                       sampling="sequential", batch_size=20)
    _assert_same(streamed, memory)


def test_the_numpy_hash_is_the_samplers_hash():
    rows = np.arange(0, 2**32, 2**32 // 997, dtype=np.int64)[:997]
    np.testing.assert_array_equal(hash_uint32(9, 3, rows),
                                  np.asarray(jax_hash(9, 3, rows.astype(np.uint32))))


# resume ----------------------------------------------------------------------------------

class _Interrupt(Exception):
    pass


def _interrupt_after(chunks):
    calls = []

    def progress(done, total):
        calls.append(done)
        if len(calls) == chunks:
            raise _Interrupt
    return progress


@pytest.mark.parametrize("sampling", ["sequential", "shuffle"])
def test_resume_continues_exactly_where_it_stopped(tmp_path, table, sampling):
    path, _ = table
    spec = gdlab.optimizer("adam", learning_rate=gdlab.schedules.cosine(0.02, 200))
    settings = dict(target="y", batch_size=16, epochs=2, record_every=3, chunk_rows=160,
                    sampling=sampling, shuffle_buffer=250 if sampling == "shuffle" else None,
                    seed=2)
    whole = stream_run(path, spec, **settings)
    position = tmp_path / "position.npz"
    with pytest.raises(_Interrupt):
        stream_run(path, spec, checkpoint=position, progress=_interrupt_after(4), **settings)
    assert position.is_file() and sorted(p.name for p in tmp_path.iterdir()) == [position.name]
    resumed = stream_run(path, spec, checkpoint=position, resume=True, **settings)
    assert resumed.settings["resumed_at"] == 40  # 4 chunks of 10 steps
    _assert_same(resumed, whole)


def test_resume_refuses_a_position_from_other_settings(tmp_path, table):
    path, _ = table
    spec = gdlab.optimizer("sgd", learning_rate=0.01)
    position = tmp_path / "p.npz"
    stream_run(path, spec, target="y", batch_size=16, num_steps=30, checkpoint=position)
    with pytest.raises(InvalidParameterError, match="batch_size"):
        stream_run(path, spec, target="y", batch_size=32, num_steps=30, checkpoint=position,
                   resume=True)
    with pytest.raises(InvalidParameterError, match="'checkpoint'"):
        stream_run(path, spec, target="y", num_steps=30, checkpoint=tmp_path / "none.npz",
                   resume=True)


# bad files -------------------------------------------------------------------------------

def _bad_files(folder, table):
    path, frame = table
    data = path.read_bytes()
    (folder / "truncated.parquet").write_bytes(data[: len(data) // 2])
    frame.to_csv(folder / "table.csv", index=False)
    frame.to_csv(folder / "csv_named.parquet", index=False)
    _write(folder / "text.parquet", frame.assign(city=["a"] * ROWS))
    _write(folder / "missing.parquet", frame.assign(x1=[None] + [1.0] * (ROWS - 1)))
    return {
        "missing file": (folder / "absent.parquet", "y", "path", "an existing Parquet file"),
        "truncated": (folder / "truncated.parquet", "y", "path", "complete Parquet file"),
        "csv": (folder / "table.csv", "y", "path", "complete Parquet file"),
        "csv named parquet": (folder / "csv_named.parquet", "y", "path", "complete Parquet"),
        "no target": (path, "price", "target", "a column of table.parquet"),
        "text column": (folder / "text.parquet", "y", "path", 'column "city" of type'),
        "missing values": (folder / "missing.parquet", "y", "path", "without missing values"),
    }


@pytest.mark.parametrize("case", ["missing file", "truncated", "csv", "csv named parquet",
                                  "no target", "text column", "missing values"])
def test_each_bad_file_is_refused_naming_the_parameter(tmp_path, table, case):
    file, target, parameter, words = _bad_files(tmp_path, table)[case]
    with pytest.raises(InvalidParameterError, match=words) as error:
        stream_run(file, "sgd", target=target)
    assert error.value.parameter == parameter


def test_bad_labels_and_settings_are_refused(tmp_path, table):
    path, frame = table
    labels = _write(tmp_path / "l.parquet", frame.assign(y=np.arange(ROWS) % 4))
    with pytest.raises(InvalidParameterError, match=r"labels in 0\.\.2") as error:
        stream_run(labels, "sgd", target="y", problem="softmax", num_classes=3, batch_size=10)
    assert error.value.parameter == "target"
    for settings, parameter in [({"sampling": "replacement"}, "sampling"),
                                ({"batch_size": ROWS + 1}, "batch_size"),
                                ({"shuffle_buffer": 10}, "shuffle_buffer"),
                                ({"problem": "softmax"}, "num_classes"),
                                ({"epochs": 1, "num_steps": 5}, "epochs")]:
        with pytest.raises(InvalidParameterError) as error:
            stream_run(path, "sgd", target="y", **settings)
        assert error.value.parameter == parameter


# the command line ---------------------------------------------------------------------------

def _one_line(result, option):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: The "), result.output
    assert f"'{option}'" in lines[0], lines[0]


@pytest.mark.parametrize("case, option", [
    ("missing file", "--data"), ("truncated", "--data"), ("csv", "--data"),
    ("csv named parquet", "--data"), ("no target", "--target"), ("text column", "--data"),
    ("missing values", "--data")])
def test_the_cli_refuses_each_bad_file_in_one_line(tmp_path, table, case, option):
    file, target, _, _ = _bad_files(tmp_path, table)[case]
    result = runner.invoke(app, ["run", "--data", str(file), "--target", target, "--stream"])
    _one_line(result, option)


@pytest.mark.parametrize("arguments, option", [
    (["--sampling", "replacement"], "sampling"),
    (["--sampling", "full"], "sampling"),
    (["--grad-tol", "1e-3"], "--grad-tol"),
    (["--sampling", "sequential", "--shuffle-buffer", "10"], "--shuffle-buffer"),
    (["--resume"], "--checkpoint"),
    (["--epochs", "0"], "--epochs"),
    (["--batch-size", "100000000"], "--batch-size"),  # more rows than the file's
])
def test_the_cli_refuses_what_streaming_cannot_do(table, arguments, option):
    path, _ = table
    result = runner.invoke(app, ["run", "--data", str(path), "--target", "y", "--stream",
                                 *arguments])
    _one_line(result, option)


def test_the_cli_refuses_stream_options_without_stream(table):
    path, _ = table
    result = runner.invoke(app, ["run", "--data", str(path), "--target", "y", "--epochs", "2"])
    _one_line(result, "--epochs")


def test_the_cli_streams_and_resumes(tmp_path, table):
    path, frame = table
    position = tmp_path / "p.npz"
    arguments = ["run", "--data", str(path), "--target", "y", "--stream", "--batch-size",
                 "25", "--epochs", "1", "--learning-rate", "0.05", "--checkpoint",
                 str(position), "--out", str(tmp_path / "out")]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    stored = pd.read_parquet(tmp_path / "out" / "trajectory.parquet")
    memory = gdlab.run(_in_memory(frame), gdlab.optimizer("sgd", learning_rate=0.05),
                       num_steps=ROWS // 25, sampling="sequential", batch_size=25)
    np.testing.assert_array_equal(stored["param_b"].to_numpy()[1:], memory.params[:, -1])
    again = runner.invoke(app, arguments[:-2] + ["--resume"])  # finished: nothing left to do
    assert again.exit_code == 0 and "resumed at step" in again.output, again.output
