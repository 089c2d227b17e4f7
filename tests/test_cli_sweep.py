"""gdlab sweep and gdlab compare from the command line."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.sweeps import load

runner = CliRunner()

CONFIG = """
[problem]
name = "article"

[optimizer]
name = "momentum"

[run]
num_steps = 100
sampling = "replacement"
batch_size = 5
seeds = 2
record_every = 10

[grid]
learning_rate = { logspace = [1e-6, 6e-4, 4] }
momentum = [0.0, 0.9]
"""


def test_sweep_writes_the_store_figures_and_prints_the_best(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", "--config", str(config), "--out", str(out),
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "16 runs (8 settings x 2 seeds)" in result.output
    # the size and the memory estimate come before the work
    plan_line = next(line for line in result.output.splitlines() if line.startswith("sweep:"))
    assert plan_line.startswith("sweep: 16 runs (8 settings x 2 seeds) in 1 chunks; "
                                "estimated memory ")
    assert result.output.index("sweep:") < result.output.index("best")
    assert {"manifest.json", "summary.parquet", "heatmap.png", "curves.png", "chunks"} <= {
        p.name for p in out.iterdir()}
    stored = load(out)
    best = stored.best(1).iloc[0]
    assert f"{best['learning_rate']:.4g}" in result.output.split("best")[1]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["file"]["grid"]["momentum"] == [0.0, 0.9]
    # a second run without --resume refuses to touch the stored sweep
    again = runner.invoke(app, ["sweep", "--config", str(config), "--out", str(out)])
    assert again.exit_code == 2 and "'out'" in again.output
    resumed = runner.invoke(app, ["sweep", "--config", str(config), "--out", str(out),
                                  "--resume", "--no-progress"])
    assert resumed.exit_code == 0, resumed.output
    assert "resume: reused 1 of 1 chunks; running 0" in resumed.output
    pd.testing.assert_frame_equal(load(out).summary.drop(columns="wall_time_s"),
                                  stored.summary.drop(columns="wall_time_s"))


def test_bad_sweep_file_exits_2_with_one_line(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(CONFIG.replace("num_steps", "num_step"))
    result = runner.invoke(app, ["sweep", "--config", str(config), "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "'run.num_step'" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_compare_prints_the_budget_and_writes_the_table(tmp_path):
    result = runner.invoke(app, ["compare", "--optimizers", "sgd,adam", "--budget", "4",
                                 "--steps", "50", "--seeds", "3", "--sampling", "replacement",
                                 "--batch-size", "5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "4 runs x 50 steps each" in result.output
    table = pd.read_parquet(tmp_path / "compare.parquet")
    assert sorted(table.optimizer) == ["adam", "sgd"] and (table.tuning_runs == 4).all()
    assert (tmp_path / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {tmp_path / 'compare.png'}" in result.output.replace("\n", "")


def test_compare_bad_input_exits_2():
    result = runner.invoke(app, ["compare", "--optimizers", "sgd", "--lr-range", "1e-3"])
    assert result.exit_code == 2 and "'--lr-range'" in result.output


def test_a_random_search_gets_a_scatter_not_a_sparse_heatmap(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(CONFIG.split("[grid]")[0] + """
[samples]
num_samples = 12
learning_rate = { log_uniform = [1e-6, 1e-3] }
momentum = { uniform = [0.0, 0.99] }
""")
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", "--config", str(config), "--out", str(out),
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert "scatter.png" in names and "heatmap.png" not in names
    assert (out / "scatter.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_says_how_many_chunks_it_reused(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(CONFIG.replace("seeds = 2", "seeds = 2\nchunk_size = 4"))
    out = tmp_path / "out"
    first = runner.invoke(app, ["sweep", "--config", str(config), "--out", str(out),
                                "--no-progress"])
    assert first.exit_code == 0, first.output
    receipts = sorted((out / "chunks").glob("0*.json"))
    assert len(receipts) == 4  # 16 runs in chunks of 4
    receipts[1].unlink()  # one chunk not done
    resumed = runner.invoke(app, ["sweep", "--config", str(config), "--out", str(out),
                                  "--resume", "--no-progress"])
    assert resumed.exit_code == 0, resumed.output
    assert "resume: reused 3 of 4 chunks; running 1" in resumed.output
    from gdlab.config import load_config, sweep_arguments
    from gdlab.sweeps import sweep

    parsed = load_config(config)
    again = sweep(**sweep_arguments(parsed), out=out, resume=True,
                  config=parsed.model_dump(mode="json"))
    assert again.info["chunks_reused"] == 4 and again.info["chunks"] == 4


def test_compare_prints_digits_enough_to_tell_values_apart():
    from gdlab._cli_sweep import distinct_digits

    assert distinct_digits([113.86, 114.2]) == 4
    assert distinct_digits([113.8591, 113.8593]) == 7
    assert distinct_digits([1.0, 1.0]) == 4  # equal values stay equal
    values = [113.859033, 113.859041, 113.859104]
    digits = distinct_digits(values)
    shown = {f"{v:.{digits}g}" for v in values}
    assert len(shown) == 3 and digits == 8


def test_compare_table_rows_differ_where_their_numbers_do(tmp_path):
    result = runner.invoke(app, ["compare", "--optimizers", "sgd,momentum", "--budget", "2",
                                 "--steps", "20", "--seeds", "3", "--sampling", "replacement",
                                 "--batch-size", "5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(tmp_path / "compare.parquet")
    bands = {}
    for row in table.itertuples():
        line = next(x for x in result.output.splitlines() if f" {row.optimizer} " in x)
        bands[row.optimizer] = line.split("│")[4].strip()
    same_numbers = (table.q10_final_loss.nunique() == 1 and table.q90_final_loss.nunique() == 1)
    assert (len(set(bands.values())) == 1) == same_numbers, (bands, table)


def test_an_empty_out_is_refused_and_a_refused_compare_creates_nothing(tmp_path,
                                                                        monkeypatch):
    # typer read --out '' as Path('.'): the sweep was written into the current folder
    config = tmp_path / "sweep.toml"
    config.write_text(CONFIG)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["sweep", "--config", str(config), "--out", "",
                                 "--no-progress"])
    assert result.exit_code == 2 and "'--out'" in result.output
    assert list(work.iterdir()) == []
    out = tmp_path / "compare"
    result = runner.invoke(app, ["compare", "--optimizers", "sgd,nope", "--out", str(out)])
    assert result.exit_code == 2 and "nope" in result.output
    assert not out.exists()
