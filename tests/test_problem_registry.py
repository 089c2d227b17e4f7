"""gdlab.problem(name, **settings), the formula problem, and the contract over problems x
optimizers: a vmapped batch equals a loop of runs, eager equals jit, and a new
coefficient does not recompile."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab import engine
from gdlab.problems import PROBLEMS, REGISTRY


def test_every_name_builds_with_its_defaults_and_the_commands_get_the_same_problem():
    for name in PROBLEMS:
        built = gdlab.problem(name)
        from_commands = PROBLEMS[name][0](seed=0)
        assert built.name == from_commands.name, name
        assert built.loss(built.init_params) == from_commands.loss(from_commands.init_params)
    assert "expression" in REGISTRY and "expression" not in PROBLEMS  # needs its formula


def test_settings_are_the_builders_arguments_and_unknown_ones_are_refused():
    assert set(REGISTRY["rosenbrock"].settings()) == {"a", "b", "init"}
    assert {"kappa", "angle", "dim"} <= set(REGISTRY["quadratic"].settings())
    # the name fixes these two: they are not settings of article-intercept
    assert not {"fit_intercept", "true_intercept"} & set(
        REGISTRY["article-intercept"].settings())
    assert gdlab.problem("article-intercept").param_names == ("w", "b")
    assert gdlab.problem("rosenbrock", b=50.0).loss(np.array([0.0, 1.0])) == 1.0 + 50.0
    with pytest.raises(gdlab.InvalidParameterError, match="'c'.*'a', 'b', 'init'"):
        gdlab.problem("rosenbrock", c=1.0)
    with pytest.raises(gdlab.InvalidParameterError, match="'problem'"):
        gdlab.problem("nope")


def test_a_formula_is_a_problem_whose_loss_is_the_formula():
    problem = gdlab.problem("expression", expression="(x - 2)**2 + 10*(y + 1)**2",
                            init=(0.5, 0.5))
    point = np.array([0.3, -0.7])
    assert problem.loss(point) == pytest.approx((0.3 - 2) ** 2 + 10 * (-0.7 + 1) ** 2,
                                                rel=1e-15)
    h = 1e-6  # central differences of the hand-written formula
    expected = [((0.3 + h - 2) ** 2 - (0.3 - h - 2) ** 2) / (2 * h),
                10 * ((-0.7 + h + 1) ** 2 - (-0.7 - h + 1) ** 2) / (2 * h)]
    np.testing.assert_allclose(problem.gradient(point), expected, rtol=1e-8)
    # gradient descent at 1/L = 1/20 on this separable bowl: y converges in one step
    # along its own axis (factor 1 - 20/20 = 0), x by 1 - 2/20 = 0.9 per step
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=1 / 20),
                           num_steps=30)
    np.testing.assert_allclose(trajectory.final_params, [2 - 1.5 * 0.9 ** 30, -1.0],
                               rtol=1e-12)
    assert problem.num_examples == 0 and problem.data == ()


def test_a_hostile_formula_is_refused_before_anything_runs(tmp_path):
    target = tmp_path / "owned"
    with pytest.raises(gdlab.InvalidParameterError, match="'expression'"):
        gdlab.problem("expression", expression=f"__import__('os').system('touch {target}')")
    assert not target.exists()
    with pytest.raises(gdlab.InvalidParameterError, match="'init'"):
        gdlab.problem("expression", expression="x + y**2", init=(1.0, 2.0, 3.0))


def test_a_surface_refuses_batches_it_cannot_draw():
    with pytest.raises(gdlab.InvalidParameterError, match="'batch_size'.*no data"):
        gdlab.run(gdlab.rosenbrock(), "sgd", batch_size=5, sampling="shuffle")
    with pytest.raises(gdlab.InvalidParameterError, match="'sampling'.*no data"):
        gdlab.run(gdlab.rosenbrock(), "sgd", sampling="replacement")


CASES = [("article", {}), ("rosenbrock", {}), ("beale", {}), ("quadratic", {"kappa": 30.0}),
         ("expression", {"expression": "x**2 + 3*sin(y)**2 + 0.1*x*y"}),
         ("softmax", {}), ("logistic", {"l2": 0.01}),
         ("mlp", {"dataset": "iris", "hidden": (8,)})]


# the classifiers and the MLP with Adam only: their programs take 5-15 s to compile
# each, and what this checks is the problem's loss under vmap (sgd and adam both run on
# every cheaper problem, and every optimizer on least squares in the contract tests)
VMAP_CASES = [(case, optimizer) for case in CASES for optimizer in ("sgd", "adam")
              if optimizer == "adam" or case[0] not in ("softmax", "logistic", "mlp")]


@pytest.mark.parametrize(("case", "optimizer"), VMAP_CASES,
                         ids=[f"{c[0]}-{o}" for c, o in VMAP_CASES])
def test_a_vmapped_batch_equals_a_loop_of_runs(case, optimizer):
    name, settings = case
    problem = gdlab.problem(name, **settings)
    rates = [1e-5, 3e-5] if name == "article" else [1e-3, 4e-3]
    spec = gdlab.optimizer(optimizer, learning_rate=rates[0])
    options = dict(num_steps=25)
    if problem.num_examples:
        options.update(batch_size=5, sampling="replacement")
    batch = gdlab.run_many(problem, spec, [{"learning_rate": r} for r in rates],
                           seeds=[3, 3], **options)
    for rate, vmapped in zip(rates, batch, strict=True):
        single = gdlab.run(problem, gdlab.optimizer(optimizer, learning_rate=rate), seed=3,
                           **options)
        np.testing.assert_array_equal(vmapped.params, single.params)
        np.testing.assert_array_equal(vmapped.loss, single.loss)


@pytest.mark.parametrize(("name", "settings"), CASES[1:], ids=[c[0] for c in CASES[1:]])
def test_the_engine_follows_the_momentum_recursion_on_the_problems_gradient(name, settings):
    # 3 steps, each one recorded and compared: momentum's buffer carries two gradients
    # by the last. The engine's program against the recursion written out here, with the
    # problem's own loss differentiated by jax.grad alone (the engine run eagerly, under
    # disable_jit, is tests/test_engine.py's; here it took 10-23 s a problem, and the
    # gradient alone, eager, 8 s for the MLP: every primitive compiled anew).
    problem = gdlab.problem(name, **settings)
    lr, mu = 1e-3, 0.9
    spec = gdlab.optimizer("momentum", learning_rate=lr, momentum=mu)
    compiled = gdlab.run(problem, spec, num_steps=3)
    assert compiled.step.tolist() == [1, 2, 3]
    params, buffer, expected = np.asarray(problem.init_params, np.float64), 0.0, []
    grad = jax.jit(jax.grad(problem.loss_fn))
    for _ in range(3):  # b <- mu b + g; theta <- theta - lr b (all data every step)
        buffer = mu * buffer + np.asarray(grad(jnp.asarray(params), problem.data,
                                               problem.constants))
        params = params - lr * buffer
        expected.append(params)
    np.testing.assert_allclose(np.array(expected), compiled.params, rtol=1e-13, atol=1e-15)


def test_a_new_coefficient_does_not_recompile():
    spec = gdlab.optimizer("sgd", learning_rate=1e-4)
    gdlab.run(gdlab.problem("rastrigin", A=10.0), spec, num_steps=7)
    size = engine._simulate_batch._cache_size()
    other = gdlab.run(gdlab.problem("rastrigin", A=3.0), spec, num_steps=7)
    assert engine._simulate_batch._cache_size() == size
    assert other.init_loss == pytest.approx(gdlab.problem("rastrigin", A=3.0).loss(
        other.init_params), rel=1e-15)


def test_a_new_dataset_of_the_same_shape_does_not_recompile():
    spec = gdlab.optimizer("adam", learning_rate=0.05)
    first = gdlab.problem("softmax", dataset="iris", seed=0)
    gdlab.run(first, spec, num_steps=9)
    size = engine._simulate_batch._cache_size()
    other = gdlab.problem("softmax", dataset="iris", seed=1)  # another split, same shapes
    assert not np.array_equal(first.data[0], other.data[0])
    trajectory = gdlab.run(other, spec, num_steps=9)
    assert engine._simulate_batch._cache_size() == size
    assert trajectory.init_loss == pytest.approx(other.loss(other.init_params), rel=1e-12)
