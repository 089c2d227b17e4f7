"""L-BFGS, the Polyak step and SAM against torch 2.13.0 and optax (golden sequences in
``tests/golden/optimizers_quasi.json``, written by ``tests/golden/generate_quasi.py``),
against closed forms and NumPy transcriptions, in the engine, and with the extra
arguments passed through ``chain`` and the wrappers."""

import inspect
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab import optimizers as O
from tests.golden.generate_quasi import loss

GOLDEN = json.loads((Path(__file__).parent / "golden" / "optimizers_quasi.json").read_text())


def _extras(update, f, theta):
    accepted = inspect.signature(update).parameters
    extra = {}
    if "value" in accepted:
        extra["value"] = f(theta)
    if "value_fn" in accepted:
        extra["value_fn"] = f
    return extra


def _numeric(case):
    """The case's numbers, traced in the compiled program: which problem (1 for the
    quartic), the schedule's ``lr`` and ``rate`` (``lr_t = lr * rate**t``) and every
    numeric setting, unset ones at the factory's default (so that cases differing only
    in numbers share one program)."""
    factory = gdlab.OPTIMIZERS[case["optimizer"]].factory
    defaults = {k: p.default for k, p in inspect.signature(factory).parameters.items()
                if isinstance(p.default, float) and k != "learning_rate"}
    numbers = {**defaults, **{k: v for k, v in case["settings"].items()
                              if isinstance(v, float)}}
    return {"quartic": float(case["problem"] == "quartic"), "lr": case["schedule"]["lr"],
            "rate": case["schedule"]["rate"], **numbers}


def _group_key(case):
    static = tuple(sorted((k, v) for k, v in case["settings"].items()
                          if k not in _numeric(case)))
    return case["optimizer"], static


def _run_group(name, static, numbers, steps):
    """Every case of one structure in one compiled program, vmapped over their numbers
    and problems (a program per case cost ~8 s of compilation each for L-BFGS on the
    loaded machine)."""
    a, b = jnp.asarray(GOLDEN["A"]), jnp.asarray(GOLDEN["b"])
    factory = gdlab.OPTIMIZERS[name].factory
    starts = {name: jnp.asarray(p["theta0"]) for name, p in GOLDEN["problems"].items()}

    def one(values):
        quartic, lr, rate = values.pop("quartic"), values.pop("lr"), values.pop("rate")
        optimizer = factory(learning_rate=lambda t: lr * rate**t, **dict(static), **values)

        def f(x):  # a select, so each case's loss and gradient are its problem's own
            return jnp.where(quartic > 0.5, loss("quartic", x, a, b),
                             loss("rosenbrock", x, a, b))

        def step(carry, _):
            theta, state = carry
            g = jax.grad(f)(theta)
            updates, state = optimizer.update(g, state, theta,
                                              **_extras(optimizer.update, f, theta))
            return (theta + updates, state), theta + updates

        theta = jnp.where(quartic > 0.5, starts["quartic"], starts["rosenbrock"])
        return jax.lax.scan(step, (theta, optimizer.init(theta)), None, length=steps)[1]

    stacked = {k: jnp.asarray([n[k] for n in numbers]) for k in numbers[0]}
    return np.asarray(jax.jit(jax.vmap(one))(stacked))


@pytest.fixture(scope="module")
def golden_runs():
    groups = {}
    for index, case in enumerate(GOLDEN["cases"]):
        groups.setdefault(_group_key(case), []).append(index)
    runs = {}
    for (name, static), indices in groups.items():
        numbers = [_numeric(GOLDEN["cases"][i]) for i in indices]
        got = _run_group(name, static, numbers, GOLDEN["steps"])
        runs.update(zip(indices, got, strict=True))
    return runs


def _rtol(case):
    # optax evaluates a schedule at its int32 count in float32 (see test_optimizers_golden):
    # its learning rates carry ~3e-8 relative error
    if case["library"] == "optax" and case["schedule"]["rate"] != 1.0:
        return 1e-6
    # Rosenbrock's curved valley amplifies the last-bit differences of the two autodiff
    # gradients (torch's and JAX's) along the path: 1.7e-15 after 8 iterations, 7e-8 at
    # the worst (iteration 23) in a probe; the quartic's cases stay at ~1e-15
    if case["library"] == "torch" and case["problem"] == "rosenbrock":
        return 1e-6
    return 1e-10


@pytest.mark.parametrize("index", range(len(GOLDEN["cases"])),
                         ids=[f"{c['library']}:{c['problem']}:{c['call']}"
                              for c in GOLDEN["cases"]])
def test_matches_the_library_step_by_step(index, golden_runs):
    case = GOLDEN["cases"][index]
    gdlab.optimizer(case["optimizer"], **case["settings"])  # the settings are valid ones
    np.testing.assert_allclose(golden_runs[index], case["params"], rtol=_rtol(case),
                               atol=1e-8 if _rtol(case) > 1e-10 else 1e-13)


def test_the_goldens_cover_each_convention_and_a_schedule():
    seen = {(c["optimizer"], c["settings"].get("convention"), c["schedule"]["rate"] != 1.0)
            for c in GOLDEN["cases"]}
    for name, convention in (("lbfgs", "pytorch"), ("lbfgs", "optax"),
                             ("polyak_sgd", "optax"), ("sam", "optax")):
        assert (name, convention, False) in seen and (name, convention, True) in seen
    assert GOLDEN["steps"] >= 50


def test_polyak_conventions_agree_at_unit_scale_and_follow_their_formulas():
    g = jnp.array([3.0, -4.0])  # |g|^2 = 25
    theta = jnp.zeros(2)
    for s, value in ((1.0, 10.0), (0.3, 10.0), (0.3, 1e3)):
        steps = {}
        for convention in ("optax", "paper"):
            opt = O.polyak_sgd(s, max_learning_rate=2.0, eps=1.0, f_min=1.0,
                               convention=convention)
            steps[convention], _ = opt.update(g, opt.init(theta), theta, value=value)
        gap = value - 1.0
        paper = s * min(gap / (25.0 + 1.0), 2.0)
        optax = s * min(gap / (s * s * 25.0 + 1.0), 2.0)
        np.testing.assert_allclose(steps["paper"], -paper * np.array(g), rtol=1e-15)
        np.testing.assert_allclose(steps["optax"], -optax * np.array(g), rtol=1e-15)
    # sps+ clips a negative gap (a loss below f_min) to a zero step; sps steps uphill
    for variant, expected in (("sps+", 0.0), ("sps", -0.5 / 25.0)):
        opt = O.polyak_sgd(1.0, variant=variant, f_min=1.0)
        u, _ = opt.update(g, opt.init(theta), theta, value=0.5)
        np.testing.assert_allclose(u, -expected * np.array(g), atol=1e-16)


def test_sam_takes_the_inner_step_with_the_gradient_at_the_ascent_point():
    def f(p):
        return jnp.sum(p**4) + p[0] * p[1]

    theta = jnp.array([0.7, -0.4])
    g = jax.grad(f)(theta)
    inner = O.momentum(0.05, 0.9)
    opt = O.sam(inner, rho=0.2)
    state = opt.init(theta)
    u, state = opt.update(g, state, theta, value_fn=f)
    perturbed = np.array(theta) + 0.2 * np.array(g) / np.linalg.norm(np.array(g))
    p0, p1 = perturbed
    g_tilde = np.array([4 * p0**3 + p1, 4 * p1**3 + p0])  # the gradient by hand
    expected, _ = inner.update(jnp.asarray(g_tilde), inner.init(theta), theta)
    np.testing.assert_allclose(u, expected, rtol=1e-14)
    assert int(state.count) == 1 and int(state.inner.count) == 1
    # rho = 0: the inner optimizer itself
    plain = O.sam(O.sgd(0.1), rho=0.0)
    u0, _ = plain.update(g, plain.init(theta), theta, value_fn=f)
    np.testing.assert_allclose(u0, -0.1 * np.array(g), rtol=1e-15)


@pytest.fixture(scope="module")
def intercept_problem():
    # the article's y = 3.2 x + noise, x in [0, 100), with an intercept: kappa ~ 16,000
    problem = gdlab.article_regression(seed=0, true_intercept=20.0, fit_intercept=True)
    facts = gdlab.theory.analyse(problem, "sgd")
    assert 1.2e4 < facts.condition_number < 2.0e4
    return problem


def test_lbfgs_solves_the_ill_conditioned_article_problem_in_30_iterations(
        intercept_problem):
    # PyTorch's defaults stop stepping once g . d > -1e-9 (about a loss gap of 5e-10 here,
    # still 1e-5 away along the flat direction) or max |g| <= 1e-7: both set to 0. (The
    # optax convention gets there too, 1.1e-14 measured; one compiled run is enough here.)
    spec = gdlab.optimizer("lbfgs", tolerance_change=0.0, tolerance_grad=0.0)
    trajectory = gdlab.run(intercept_problem, spec, num_steps=30, sampling="full",
                           record_every=30)
    theta_star = intercept_problem.minimizer()
    assert np.linalg.norm(trajectory.final_params - theta_star) < 1e-8


def _plateau_reference(problem, lr, steps, factor, patience):
    """Clip to norm 1, SGD, PyTorch's ReduceLROnPlateau rule ("min", relative threshold
    1e-4, no cooldown) on the full-batch loss, transcribed naively in NumPy."""
    X, y = problem.X, problem.y
    theta = np.array(problem.init_params, dtype=float)
    scale, best, bad = 1.0, np.inf, 0
    for _ in range(steps):
        r = X @ theta - y
        value = np.mean(r**2)
        g = 2.0 * X.T @ r / len(y)
        g = g * min(1.0, 1.0 / np.linalg.norm(g))
        theta = theta - scale * lr * g
        if value < best * (1 - 1e-4):
            best, bad = value, 0
        else:
            bad += 1
        if bad > patience:
            scale, bad = scale * factor, 0
    return theta, scale


def test_chain_passes_the_loss_to_reduce_on_plateau_in_a_run():
    problem = gdlab.article_regression(seed=0, true_intercept=20.0, fit_intercept=True)
    assert problem.loss_convention.startswith("mean squared error without the factor 1/2")
    opt = O.chain(O.clip_by_norm(1.0), O.reduce_on_plateau(O.sgd(2.0), factor=0.5,
                                                           patience=3))
    assert "value" in inspect.signature(opt.update).parameters
    trajectory = gdlab.run(problem, opt, num_steps=120, sampling="full", record_every=120)
    theta, scale = _plateau_reference(problem, 2.0, 120, 0.5, 3)
    assert scale == 0.25  # the plateau rule fired twice
    np.testing.assert_allclose(trajectory.final_params, theta, rtol=1e-9)


def test_wrappers_declare_and_forward_only_what_their_inner_optimizers_take():
    def declared(opt):
        return set(inspect.signature(opt.update).parameters) & {"value", "value_fn"}

    assert declared(O.chain(O.clip(1.0), O.sgd(0.1))) == set()
    assert declared(O.chain(O.clip(1.0), O.lbfgs())) == {"value_fn"}
    assert declared(O.chain(O.clip(1.0), O.lbfgs(line_search="none"))) == set()
    assert declared(O.skip_nonfinite(O.polyak_sgd())) == {"value"}
    assert declared(O.accumulate(O.sam(O.sgd(0.1)), 2)) == {"value_fn"}
    assert declared(O.reduce_on_plateau(O.armijo())) == {"value", "value_fn"}
    assert declared(O.sam(O.polyak_sgd())) == {"value", "value_fn"}
    # the Polyak step inside SAM inside a chain gets the loss value through both
    theta, g = jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0])
    opt = O.chain(O.clip(10.0), O.sam(O.polyak_sgd(), rho=0.0))
    u, _ = opt.update(g, opt.init(theta), theta, value=5.0,
                      value_fn=lambda p: jnp.sum(p**2))
    np.testing.assert_allclose(u, -(5.0 / 20.0) * np.array(g), rtol=1e-15)


@pytest.mark.parametrize("name, settings, parameter", [
    ("lbfgs", {"memory_size": 0}, "memory_size"),
    ("lbfgs", {"line_search": "zoom"}, "line_search"),
    ("lbfgs", {"c1": 0.5, "c2": 0.4}, "c2"),
    ("lbfgs", {"max_linesearch_steps": 0}, "max_linesearch_steps"),
    ("lbfgs", {"tolerance_grad": -1.0}, "tolerance_grad"),
    ("lbfgs", {"learning_rate": 0.0}, "learning_rate"),
    ("polyak_sgd", {"max_learning_rate": 0.0}, "max_learning_rate"),
    ("polyak_sgd", {"variant": "sps-"}, "variant"),
    ("polyak_sgd", {"eps": -1e-3}, "eps"),
    ("polyak_sgd", {"convention": "pytorch"}, "convention"),
    ("sam", {"rho": -0.1}, "rho"),
    ("sam", {"optimizer": "nosuch"}, "optimizer"),
])
def test_bad_hyperparameters_are_refused_by_name(name, settings, parameter):
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        gdlab.optimizer(name, **settings)


def test_sam_refuses_a_learning_rate_beside_an_optimizer():
    with pytest.raises(gdlab.InvalidParameterError, match="'learning_rate'"):
        O.sam(O.sgd(0.1), learning_rate=0.1)
