"""The Trajectory and Problem as a user meets them: short reprs, the starting point in
the table, keywords that are checked by name."""

import numpy as np
import pytest

import gdlab


@pytest.fixture(scope="module")
def large():
    return gdlab.linear_regression(n_samples=5000, n_features=4, seed=0)


def test_reprs_are_short_and_name_what_matters(large):
    trajectory = gdlab.run(large, gdlab.optimizer("sgd", learning_rate=1e-3), num_steps=400)
    text = repr(large)
    # the dataclass repr printed the 5000 x 5 design matrix
    assert len(text) < 200 and "5000" in text and "'w0'" in text
    shown = repr([trajectory] * 20)
    assert len(shown) < 20 * 200
    assert "400" in repr(trajectory) and "max_steps" in repr(trajectory)


def test_to_frame_starts_at_the_starting_point(large):
    trajectory = gdlab.run(large, gdlab.optimizer("sgd", learning_rate=1e-3), num_steps=30,
                           record_every=10)
    frame = trajectory.to_frame()
    assert frame["step"].tolist() == [0, 10, 20, 30]
    first = frame.iloc[0]
    assert first["loss"] == pytest.approx(large.loss(large.init_params), rel=1e-12)
    gradient = np.linalg.norm(large.gradient(large.init_params))
    assert first["full_grad_norm"] == pytest.approx(gradient, rel=1e-10)
    for j, name in enumerate(large.param_names):
        assert first[f"param_{name}"] == large.init_params[j]
    assert np.isnan(first["batch_loss"])  # a batch loss belongs to an update
    assert trajectory.to_frame(start=False)["step"].tolist() == [10, 20, 30]


def test_run_refuses_an_unknown_keyword_by_its_name(large):
    with pytest.raises(TypeError, match="record_evry"):
        gdlab.run(large, "sgd", record_evry=2)


def test_settings_hold_the_static_structure_that_changes_the_method():
    """nesterov=True and the convention change the iteration, so a Trajectory's settings
    must say them (they were only inside the describe string)."""
    import gdlab

    problem = gdlab.problem("rosenbrock")
    plain = gdlab.run(problem, gdlab.optimizer("momentum", learning_rate=1e-3), num_steps=3)
    ahead = gdlab.run(problem, gdlab.optimizer("momentum", learning_rate=1e-3, nesterov=True,
                                               convention="keras"), num_steps=3)
    assert plain.settings.get("nesterov", False) is False and ahead.settings["nesterov"] is True
    assert (plain.settings["convention"], ahead.settings["convention"]) == ("pytorch", "keras")
    assert not np.array_equal(plain.params, ahead.params)
