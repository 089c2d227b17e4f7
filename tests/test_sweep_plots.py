"""Sweep figures and the best-settings table, checked against facts computed here by hand
from the sweep's summary and histories and from the problem's Hessian."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import LogNorm
from matplotlib.patches import Rectangle

import gdlab
from gdlab._validation import InvalidParameterError
from gdlab.plots import plot_bands, plot_heatmap
from gdlab.plots.sweeps import BOUNDARY_LABEL, best_table
from gdlab.sweeps import SweepResult

LEARNING_RATES = np.geomspace(1e-6, 6e-4, 6)
MOMENTA = [0.0, 0.5, 0.9]


@pytest.fixture(scope="module")
def problem():
    return gdlab.article_regression()


@pytest.fixture(scope="module")
def result(problem):
    return gdlab.sweep(problem, "momentum",
                       {"learning_rate": LEARNING_RATES, "momentum": MOMENTA}, seeds=2,
                       num_steps=200, sampling="replacement", batch_size=5, record_every=20)


def _by_hand(summary):
    """Median final loss per (learning_rate, momentum), diverged runs as +inf."""
    out = {}
    for (lr, beta), rows in summary.groupby(["learning_rate", "momentum"]):
        values = np.where(rows["status"] == "diverged", np.inf, rows["final_loss"])
        out[(lr, beta)] = float(np.median(values))
    return out


def _all_diverged(summary):
    return {key for key, rows in summary.groupby(["learning_rate", "momentum"])
            if (rows["status"] == "diverged").all()}


def _diverged_cells(ax, xs, ys):
    """The (x, y) grid values whose cell is covered by a 'diverged' patch."""
    cells = set()
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_gid() == "diverged":
            x0, y0 = patch.get_x(), patch.get_y()
            x1, y1 = x0 + patch.get_width(), y0 + patch.get_height()
            inside = [(x, y) for x in xs for y in ys if x0 < x < x1 and y0 < y < y1]
            assert len(inside) == 1
            cells |= set(inside)
    return cells


def _mesh(ax):
    (mesh,) = [c for c in ax.collections if c.get_gid() == "values"]
    return mesh


def test_the_sweep_has_both_kinds_of_cells(result):
    # the facts the other tests lean on: some settings diverge on every seed, most none
    status = result.summary.groupby("setting_id")["status"].agg(lambda s: (s == "diverged")
                                                                 .mean())
    assert set(status.unique()) <= {0.0, 1.0}
    assert 0 < (status == 1.0).sum() < len(status)


def test_heatmap_colours_are_medians_over_seeds(result):
    ax = plot_heatmap(result, "learning_rate", "momentum")
    data = _mesh(ax).get_array()
    assert data.shape == (len(MOMENTA), len(LEARNING_RATES))
    expected = _by_hand(result.summary)
    for j, beta in enumerate(MOMENTA):
        for i, lr in enumerate(LEARNING_RATES):
            median = expected[(lr, beta)]
            if np.isfinite(median):
                assert not np.ma.is_masked(data[j, i])
                assert data[j, i] == pytest.approx(median, rel=1e-12)
            else:
                assert np.ma.is_masked(data[j, i])
    # losses from ~114 to ~8e3: a log colour scale, the colourbar says what and how
    assert isinstance(_mesh(ax).norm, LogNorm)
    colorbar_axes = [a for a in ax.figure.axes if a is not ax]
    assert colorbar_axes[0].get_ylabel() == "median final loss over 2 seeds"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"  # 0 in the momenta
    assert ax.get_xlabel() == "learning rate (log scale)"
    assert "momentum" in ax.get_title()


def test_heatmap_draws_exactly_the_diverged_cells_as_diverged(result):
    ax = plot_heatmap(result, "learning_rate", "momentum")
    drawn = _diverged_cells(ax, LEARNING_RATES, MOMENTA)
    assert drawn == _all_diverged(result.summary)
    assert drawn == {k for k, v in _by_hand(result.summary).items() if not np.isfinite(v)}
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "diverged" in texts


def test_heatmap_boundary_is_the_heavy_ball_threshold(result, problem):
    lam_max = float(np.max(problem.hessian_eigenvalues()))
    ax = plot_heatmap(result, "learning_rate", "momentum")
    (line,) = [line for line in ax.get_lines() if line.get_gid() == "boundary"]
    assert line.get_label().startswith(BOUNDARY_LABEL)
    lr, beta = (np.asarray(v, float) for v in line.get_data())
    np.testing.assert_allclose(lr, 2.0 * (1.0 + beta) / lam_max, rtol=1e-12)
    assert beta.min() == 0.0 and beta.max() > 0.9  # across the momentum axis
    # swapped axes: the same curve, transposed
    ax = plot_heatmap(result, "momentum", "learning_rate")
    (line,) = [line for line in ax.get_lines() if line.get_gid() == "boundary"]
    beta, lr = (np.asarray(v, float) for v in line.get_data())
    np.testing.assert_allclose(lr, 2.0 * (1.0 + beta) / lam_max, rtol=1e-12)
    assert not [line for line in plot_heatmap(result, "learning_rate", "momentum",
                                              boundary=False).get_lines()]


def test_heatmap_boundary_for_sgd_and_none_for_adam(problem):
    lam_max = float(np.max(problem.hessian_eigenvalues()))
    sgd = gdlab.sweep(problem, "sgd", {"learning_rate": [1e-5, 1e-4], "batch_size": [1, 5]},
                      num_steps=20, sampling="replacement")
    ax = plot_heatmap(sgd, "learning_rate", "batch_size")
    (line,) = [line for line in ax.get_lines() if line.get_gid() == "boundary"]
    assert np.allclose(line.get_xdata(), 2.0 / lam_max)
    adam = gdlab.sweep(problem, "adam", {"learning_rate": [1e-2, 1e-1], "b1": [0.5, 0.9]},
                       num_steps=20)
    assert not plot_heatmap(adam, "learning_rate", "b1").get_lines()


def test_heatmap_where_fixes_the_other_names(problem):
    three = gdlab.sweep(problem, "momentum", {"learning_rate": [1e-6, 1e-5, 1e-4],
                                              "momentum": [0.0, 0.9],
                                              "batch_size": [1, 5]},
                        seeds=2, num_steps=30, sampling="replacement")
    with pytest.raises(InvalidParameterError) as error:
        plot_heatmap(three, "learning_rate", "momentum")
    assert error.value.parameter == "where" and "batch_size" in str(error.value)
    ax = plot_heatmap(three, "learning_rate", "momentum", where={"batch_size": 5})
    rows = three.summary[three.summary["batch_size"] == 5]
    expected = _by_hand(rows)
    data = _mesh(ax).get_array()
    for j, beta in enumerate([0.0, 0.9]):
        for i, lr in enumerate([1e-6, 1e-5, 1e-4]):
            assert data[j, i] == pytest.approx(expected[(lr, beta)], rel=1e-12)
    assert "batch_size=5" in ax.get_title()
    with pytest.raises(InvalidParameterError, match="where.batch_size"):
        plot_heatmap(three, "learning_rate", "momentum", where={"batch_size": 3})


def test_heatmap_rejects_bad_names(result):
    with pytest.raises(InvalidParameterError) as error:
        plot_heatmap(result, "learning_rate", "momentum", "no_such_value")
    assert error.value.parameter == "value"
    with pytest.raises(InvalidParameterError) as error:
        plot_heatmap(result, "learning_rate", "b1")
    assert error.value.parameter == "y"
    with pytest.raises(InvalidParameterError) as error:
        plot_heatmap(result, "learning_rate", "momentum", log=True)  # momentum holds 0
    assert error.value.parameter == "log"


def test_heatmap_through_the_result_and_other_aggregates(result):
    ax = result.heatmap("learning_rate", "momentum", agg="diverged")
    data = _mesh(ax).get_array()
    fraction = result.summary.assign(d=result.summary["status"] == "diverged").groupby(
        ["momentum", "learning_rate"])["d"].mean().unstack().to_numpy()
    np.testing.assert_array_equal(np.asarray(data), fraction)


def _hand_curves(result, column="loss"):
    history = result.history.merge(result.summary[["run_id", "learning_rate", "momentum"]],
                                   on="run_id")
    return {key: rows.groupby("step")[column].median()
            for key, rows in history.groupby(["learning_rate", "momentum"])}


def _label(lr, beta):
    return f"learning_rate={lr:.3g}, momentum={beta:.3g}"


def test_bands_one_median_line_per_setting(result):
    ax = plot_bands(result, "loss", max_curves=100)
    lines = [line for line in ax.get_lines() if line.get_gid() == "median"]
    assert len(lines) == len(LEARNING_RATES) * len(MOMENTA)
    bands = [c for c in ax.collections if c.get_gid() == "band"]
    assert len(bands) == len(lines)
    by_label = {line.get_label().split(" (")[0]: line for line in lines}
    init = result.summary["init_loss"].median()
    for (lr, beta), medians in _hand_curves(result).items():
        steps, values = by_label[_label(lr, beta)].get_data()
        np.testing.assert_array_equal(steps[1:], medians.index.to_numpy())
        np.testing.assert_allclose(values[1:], medians.to_numpy(), rtol=1e-12)
        assert steps[0] == 0 and values[0] == pytest.approx(init)  # from the start
    (minimum,) = [line for line in ax.get_lines() if line.get_label() == "minimum loss"]
    assert minimum.get_linestyle() == "--"
    assert minimum.get_ydata()[0] == pytest.approx(result.info["minimum"])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step"
    assert "median" in ax.get_legend().get_title().get_text()


def test_bands_legend_is_best_first_and_marks_divergence(result):
    ax = plot_bands(result, "loss", max_curves=100)
    labels = [line.get_label() for line in ax.get_lines() if line.get_gid() == "median"]
    medians = _by_hand(result.summary)
    ordered = sorted(medians, key=lambda k: medians[k])  # stable on ties: setting order
    assert [label.split(" (")[0] for label in labels] == [_label(*k) for k in ordered]
    for key in _all_diverged(result.summary):
        assert _label(*key) + " (diverged)" in labels


def test_bands_spreads_max_curves_from_best_to_worst(result):
    ax = result.plot_curves("loss", max_curves=5)
    labels = [line.get_label().split(" (")[0] for line in ax.get_lines()
              if line.get_gid() == "median"]
    medians = _by_hand(result.summary)
    ordered = sorted(medians, key=lambda k: medians[k])
    assert len(labels) == 5
    assert labels[0] == _label(*ordered[0]) and labels[-1] == _label(*ordered[-1])
    assert "5 of 18 settings" in ax.get_title()
    assert "of 18" not in plot_bands(result, max_curves=18).get_title()


def test_bands_by_one_name_pools_the_rest(result):
    ax = plot_bands(result, "loss", by=("momentum",))
    lines = [line for line in ax.get_lines() if line.get_gid() == "median"]
    assert len(lines) == len(MOMENTA)
    history = result.history.merge(result.summary[["run_id", "momentum"]], on="run_id")
    for line in lines:
        beta = float(line.get_label().split("=")[1].split(" ")[0])
        expected = history[history["momentum"] == beta].groupby("step")["loss"].median()
        np.testing.assert_allclose(line.get_ydata()[1:], expected.to_numpy(), rtol=1e-12)


def test_best_table_first_row_is_the_smallest_median(result):
    text = best_table(result, n=3)
    lines = text.splitlines()
    assert lines[0] == "best 3 of 18 settings by median final loss over 2 seeds"
    assert lines[1].split() == ["rank", "learning_rate", "momentum", "median", "min", "max",
                                "diverged"]
    assert len(lines) == 2 + 3
    medians = _by_hand(result.summary)
    lr, beta = min(medians, key=lambda k: medians[k])
    first = lines[2].split()
    assert first[:3] == ["1", f"{lr:.3g}", f"{beta:.3g}"]
    assert float(first[3]) == pytest.approx(medians[(lr, beta)], rel=1e-5)
    assert first[-1] == "0/2"
    worst = best_table(result, n=18).splitlines()[-1].split()
    assert worst[3] == "inf" and worst[-1] == "2/2"


def test_heatmap_median_is_not_the_mean(problem):
    # with three seeds the median and the mean of a cell differ: the colour is the median
    three = gdlab.sweep(problem, "momentum", {"learning_rate": [3e-6, 1e-4],
                                              "momentum": [0.0, 0.5]},
                        seeds=3, num_steps=40, sampling="replacement", batch_size=5)
    data = _mesh(plot_heatmap(three, "learning_rate", "momentum")).get_array()
    largest = _mesh(plot_heatmap(three, "learning_rate", "momentum", agg="max")).get_array()
    differs = 0
    for (lr, beta), rows in three.summary.groupby(["learning_rate", "momentum"]):
        j, i = [0.0, 0.5].index(beta), [3e-6, 1e-4].index(lr)
        values = rows["final_loss"].to_numpy()
        assert data[j, i] == pytest.approx(np.median(values), rel=1e-12)
        assert largest[j, i] == pytest.approx(values.max(), rel=1e-12)
        differs += not np.isclose(np.median(values), values.mean(), rtol=1e-9)
    assert differs > 0


# --- diverged runs never set the curves' scale ----------------------------------------

def _good_values(result):
    """Median and 10/90% quantiles over seeds, by hand, of the settings that never diverged,
    with the starting losses: what may set the y range."""
    summary = result.summary
    clean = summary.groupby("setting_id")["status"].agg(lambda s: (s != "diverged").all())
    runs = summary[summary["setting_id"].map(clean)]
    history = result.history[result.history["run_id"].isin(runs["run_id"])].merge(
        runs[["run_id", "setting_id"]], on="run_id")
    values = [summary["init_loss"].to_numpy()]
    for _, rows in history.groupby(["setting_id", "step"]):
        loss = rows["loss"].to_numpy()
        values.append(np.array([np.median(loss), *np.quantile(loss, [0.1, 0.9])]))
    return np.concatenate(values)


def _assert_scale_from(ax, values, minimum=None):
    values = np.concatenate([values, [] if minimum is None else [minimum]])
    assert ax.get_yscale() == "log"
    bottom, top = ax.get_ylim()
    assert 0 < bottom <= values.min() and top >= values.max()
    # the finite positive losses of clean settings set it: a factor of a few, no more
    assert bottom >= values.min() / 4 and top <= values.max() * 4


def test_bands_scale_ignores_diverged_settings_of_a_real_sweep(result):
    assert (result.summary["status"] == "diverged").any()  # the fixture diverges somewhere
    ax = plot_bands(result, "loss", max_curves=100)
    _assert_scale_from(ax, _good_values(result), result.info["minimum"])


def _synthetic(garbage: float, seeds: int = 4, diverging_seeds: int = 4, at: int = 6):
    """Two clean settings and one whose ``diverging_seeds`` runs diverge at step ``at`` and
    then record ``garbage`` (what overflow leaves: huge, negative, inf or NaN)."""
    steps = np.arange(1, 21)
    rows, history = [], []
    run = 0
    for setting, lr in enumerate([1e-3, 1e-2, 1e-1]):
        for seed in range(seeds):
            diverges = setting == 2 and seed < diverging_seeds
            loss = 100.0 * (0.8 + 0.01 * seed) ** steps * (setting + 1) + 1.0
            if diverges:
                loss = 100.0 * 10.0 ** steps
                loss[steps >= at] = garbage
            rows.append({"run_id": run, "setting_id": setting, "learning_rate": lr,
                         "seed": seed, "status": "diverged" if diverges else "max_steps",
                         "diverged_at": at if diverges else -1, "init_loss": 100.0,
                         "final_loss": loss[-1]})
            history.append(pd.DataFrame({"run_id": run, "step": steps, "loss": loss}))
            run += 1
    return SweepResult(pd.DataFrame(rows), ("learning_rate",), {"optimizer": "sgd()"},
                       None, pd.concat(history, ignore_index=True))


@pytest.mark.parametrize("garbage", [4.7e39, -4.7e39, np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("diverging_seeds", [1, 4])
def test_bands_scale_is_log_and_set_by_finite_positive_losses(garbage, diverging_seeds):
    result = _synthetic(garbage, diverging_seeds=diverging_seeds)
    ax = plot_bands(result, "loss")
    _assert_scale_from(ax, _good_values(result))
    # the diverged setting is marked by a cross at the step its first run diverged
    (cross,) = [line for line in ax.get_lines() if line.get_gid() == "diverged"]
    assert cross.get_xdata()[0] == 6
    bottom, top = ax.get_ylim()
    assert bottom <= cross.get_ydata()[0] <= top
    labels = [line.get_label() for line in ax.get_lines() if line.get_gid() == "median"]
    expected = "(diverged)" if diverging_seeds == 4 else f"({diverging_seeds}/4 diverged)"
    assert any(label.endswith(expected) for label in labels)


def test_curves_count_the_runs_diverged_by_each_step():
    result = _synthetic(np.inf, diverging_seeds=3, at=6)
    curves = result.curves("loss")
    diverging = curves[curves["learning_rate"] == 1e-1].set_index("step")["diverged"]
    assert (diverging.loc[:5] == 0).all() and (diverging.loc[6:] == 3).all()
    assert (curves[curves["learning_rate"] < 1e-1]["diverged"] == 0).all()
    assert (curves["runs"] == 4).all()


def test_axis_cells_of_values_at_the_ends_of_float64_are_positive_and_finite():
    """A swept axis from 1e-300 to 1e300 is on a log scale (decided without an overflowing
    division), and its cells' edges are positive finite numbers around each value:
    the geometric midpoint between neighbours, the outer edges clipped to float64."""
    import warnings

    from gdlab.plots.sweeps import _auto_log, _edges

    values = np.array([1e-300, 1.0, 1e300])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _auto_log(values)
        assert not _auto_log(np.array([1.0, 19.0]))
        edges = _edges(values, True)
    assert np.all(np.isfinite(edges)) and np.all(edges > 0)
    np.testing.assert_allclose(edges[1:3], [1e-150, 1e150], rtol=1e-12)
    assert edges[0] < values[0] and edges[-1] > values[-1]
