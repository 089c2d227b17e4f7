"""Schedules against closed forms, golden values from torch/optax, jit, vmap and the engine."""

import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab import engine
from gdlab import schedules as S

GOLDEN = json.loads((Path(__file__).parent / "golden" / "schedules.json").read_text())


def _build(case):
    kwargs = dict(case["kwargs"])
    factory = case["factory"]
    if factory == "warmup_cosine":
        return S.warmup(S.cosine(kwargs["peak"], kwargs["decay_steps"], alpha=kwargs["alpha"]),
                        kwargs["warmup_steps"])
    if factory == "join_constant_exponential":
        return S.join([S.constant(kwargs["first"]),
                       S.exponential(kwargs["second"], kwargs["rate"])], [kwargs["boundary"]])
    if factory in ("one_cycle", "optax_onecycle_reference"):
        return S.one_cycle(kwargs.pop("max_value"), kwargs.pop("total_steps"), **kwargs)
    return getattr(S, factory)(**kwargs)


@pytest.mark.parametrize("case", [c for c in GOLDEN["cases"]
                                  if c["factory"] not in ("optax_onecycle_reference",
                                                          "reduce_on_plateau")],
                         ids=lambda c: f"{c['library']}:{c['call'][:60]}")
def test_matches_the_library(case):
    built = _build(case)
    if case["factory"] == "one_cycle":
        np.testing.assert_allclose(built["learning_rate"].values(case["steps"]),
                                   case["values"], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(built["momentum"].values(case["steps"]), case["momentum"],
                                   rtol=1e-10)
    else:
        np.testing.assert_allclose(built.values(case["steps"]), case["values"], rtol=1e-10,
                                   atol=1e-14)


def test_reduce_on_plateau_matches_torch():
    case = next(c for c in GOLDEN["cases"] if c["factory"] == "reduce_on_plateau")
    kwargs = dict(case["kwargs"])
    metrics, lr = kwargs.pop("metrics"), kwargs.pop("learning_rate")
    opt = gdlab.optimizers.reduce_on_plateau(gdlab.sgd(lr), **kwargs)
    params = jnp.zeros(1)
    state = opt.init(params)
    applied = []
    for metric in metrics:
        update, state = opt.update(-jnp.ones(1), state, params, value=metric)
        applied.append(float(update[0]))  # = lr * scale, the learning rate used
    np.testing.assert_allclose(applied, case["values"], rtol=1e-12)
    assert len(set(case["values"])) >= 3  # the metrics really trigger several reductions


def test_reduce_on_plateau_in_the_engine_records_its_scale():
    problem = gdlab.article_regression(seed=0)
    opt = gdlab.optimizers.reduce_on_plateau(gdlab.sgd(2e-4), patience=5, factor=0.5)
    trajectory = gdlab.run(problem, opt, num_steps=150, batch_size=5, sampling="replacement")
    scale = trajectory.internals["scale"]
    assert scale[0] == 1.0 and scale[-1] < 1e-3
    ratios = scale[1:] / scale[:-1]
    assert set(np.round(ratios, 12)) <= {1.0, 0.5}
    assert "scale" in trajectory.columns()


def test_optax_one_cycle_differs_from_pytorchs_as_documented():
    case = next(c for c in GOLDEN["cases"] if c["factory"] == "optax_onecycle_reference")
    ours = _build(case)["learning_rate"].values(case["steps"])
    gap = np.abs(ours - np.array(case["values"]))
    assert gap.max() > 1e-4  # different phase boundaries (floor(pT), T vs pT-1, T-1)
    assert gap.max() < 0.1 * 0.1  # but the same shape: within 10% of the peak (6.0e-3 seen)


def test_closed_forms_at_boundaries():
    assert float(S.step(1.0, 10, 0.5)(9)) == 1.0 and float(S.step(1.0, 10, 0.5)(10)) == 0.5
    schedule = S.multistep(2.0, [3, 7], 0.1)
    assert [float(schedule(t)) for t in (2, 3, 6, 7)] == pytest.approx([2.0, 0.2, 0.2, 0.02])
    assert float(S.cosine(1.0, 20, alpha=0.2)(20)) == pytest.approx(0.2)
    assert float(S.cosine(1.0, 20, alpha=0.2)(500)) == pytest.approx(0.2)
    assert float(S.polynomial(1.0, 0.5, 3.0, 10)(10)) == pytest.approx(0.5)
    assert float(S.inverse_time(1.0, 0.5, 4)(8)) == pytest.approx(0.5)
    sgdr = S.sgdr(1.0, 4, period_mult=3.0)  # cycles [0, 4), [4, 16), [16, 52)
    assert [float(sgdr(t)) for t in (0, 4, 16, 52)] == pytest.approx([1.0] * 4)
    assert float(sgdr(10)) == pytest.approx(0.5)  # halfway through the second cycle
    warm = S.warmup(S.constant(1.0), 4, start_value=0.2)
    assert [float(warm(t)) for t in (0, 2, 4, 9)] == pytest.approx([0.2, 0.6, 1.0, 1.0])
    wsd = S.warmup_stable_decay(1.0, 10, 20, 10, end_value=0.1, decay="cosine")
    assert [float(wsd(t)) for t in (5, 10, 29, 35, 40, 99)] == pytest.approx(
        [0.5, 1.0, 1.0, 0.55, 0.1, 0.1])


def test_sgdr_boundaries_survive_floating_point():
    schedule = S.sgdr(1.0, 10, period_mult=2.0)
    starts = [10 * (2**i - 1) for i in range(1, 12)]
    np.testing.assert_allclose([float(schedule(t)) for t in starts], 1.0, rtol=1e-12)


def _lrbench_reference(policy, t, k0=0.0, k1=0.0, gamma=1.0, p=1.0, l=1.0,  # noqa: E741
                       milestones=()):
    """LRBench's functions written from their formulas (math module, one step at a time)."""
    period = 2 * l
    wave_tri = (2 / math.pi) * abs(math.asin(math.sin(math.pi * t / period)))
    wave_sin = abs(math.sin(math.pi * t / period))
    table = {
        "FIX": lambda: k0,
        "STEP": lambda: k0 * gamma ** math.floor(t / l),
        "NSTEP": lambda: k0 * gamma ** sum(t >= m for m in milestones),
        "EXP": lambda: k0 * gamma**t,
        "INV": lambda: k0 * (1 + gamma * t) ** (-p),
        "POLY": lambda: (k1 - k0) * (1 - t / l) ** p + k0,
        "TRI": lambda: (k1 - k0) * wave_tri + k0,
        "TRI2": lambda: (k1 - k0) * wave_tri / 2 ** math.floor(t / period) + k0,
        "TRIEXP": lambda: (k1 - k0) * wave_tri * gamma**t + k0,
        "SIN": lambda: (k1 - k0) * wave_sin + k0,
        "SIN2": lambda: (k1 - k0) * wave_sin / 2 ** math.floor(t / period) + k0,
        "SINEXP": lambda: (k1 - k0) * wave_sin * gamma**t + k0,
        "COS": lambda: (k1 - k0) * 0.5 * (1 + math.cos(math.pi * t / l)) + k0,
    }
    return table[policy]()


LRBENCH_CASES = {
    "FIX": {"k0": 0.05}, "STEP": {"k0": 0.1, "gamma": 0.5, "l": 7},
    "NSTEP": {"k0": 0.1, "gamma": 0.1, "milestones": (10, 25)},
    "EXP": {"k0": 0.1, "gamma": 0.97}, "INV": {"k0": 0.1, "gamma": 0.05, "p": 0.75},
    "POLY": {"k0": 0.001, "k1": 0.1, "p": 1.2, "l": 40},
    "TRI": {"k0": 0.01, "k1": 0.1, "l": 6}, "TRI2": {"k0": 0.01, "k1": 0.1, "l": 6},
    "TRIEXP": {"k0": 0.01, "k1": 0.1, "gamma": 0.98, "l": 6},
    "SIN": {"k0": 0.01, "k1": 0.1, "l": 6}, "SIN2": {"k0": 0.01, "k1": 0.1, "l": 6},
    "SINEXP": {"k0": 0.01, "k1": 0.1, "gamma": 0.98, "l": 6},
    "COS": {"k0": 0.001, "k1": 0.1, "l": 15},
}


@pytest.mark.parametrize("policy", S.POLICIES)
def test_lrbench_policies(policy):
    params = LRBENCH_CASES[policy]
    schedule = S.lrbench(policy, **params)
    expected = [_lrbench_reference(policy, t, **params) for t in range(40)]
    np.testing.assert_allclose(schedule.values(40), expected, rtol=1e-12, atol=1e-15)


def test_schedules_work_inside_jit_and_vmap():
    schedule = S.warmup(S.cosine(0.1, 90), 10)
    compiled = jax.jit(lambda t: schedule(t))
    np.testing.assert_allclose([float(compiled(t)) for t in range(0, 100, 7)],
                               [float(schedule(t)) for t in range(0, 100, 7)], rtol=1e-13)

    template = S.sgdr(1.0, 1.0)
    leaves, structure = jax.tree_util.tree_flatten(template)
    keys = sorted(template.params)

    def at_step_40(peak, period):
        values = dict(zip(keys, leaves, strict=True))
        values.update(init_value=peak, first_period=period)
        return jax.tree_util.tree_unflatten(structure, [values[k] for k in keys])(40)

    peaks, periods = jnp.array([0.1, 0.2, 0.3]), jnp.array([7.0, 11.0, 13.0])
    batched = jax.jit(jax.vmap(at_step_40))(peaks, periods)
    for i in range(3):
        assert float(batched[i]) == pytest.approx(
            float(S.sgdr(float(peaks[i]), float(periods[i]))(40)), rel=1e-12)


def test_a_sweep_over_schedule_parameters_does_not_recompile():
    problem = gdlab.article_regression(seed=0)
    spec = gdlab.optimizer("sgd", learning_rate=S.cosine(1e-5, 50))
    gdlab.run(problem, spec, num_steps=50)
    size = engine._simulate_batch._cache_size()
    settings = [{"learning_rate": S.cosine(peak, period)} for peak in (2e-5, 5e-5)
                for period in (20, 40)]
    runs = gdlab.run_many(problem, "sgd", settings, num_steps=50)
    gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=S.cosine(3e-5, 10)), num_steps=50)
    assert engine._simulate_batch._cache_size() == size + 1  # the batch of 4: one new shape
    for setting, trajectory in zip(settings, runs, strict=True):
        np.testing.assert_allclose(trajectory.learning_rate,
                                   setting["learning_rate"].values(50), rtol=1e-12)


def test_every_scheduled_hyperparameter_is_recorded():
    problem = gdlab.article_regression(seed=0)
    cycle = S.one_cycle(5e-5, 120)
    trajectory = gdlab.run(problem, gdlab.optimizer("momentum", **cycle), num_steps=120,
                           batch_size=5, sampling="replacement", record_every=10)
    steps = trajectory.step - 1  # the update at record k used the values at step k-1
    np.testing.assert_allclose(trajectory.learning_rate,
                               cycle["learning_rate"].values(120)[steps], rtol=1e-12)
    np.testing.assert_allclose(trajectory.hyperparams["momentum"],
                               cycle["momentum"].values(120)[steps], rtol=1e-12)
    assert "hyper_momentum" in trajectory.columns()


def test_scheduled_momentum_follows_the_buffer_formula():
    grads = np.random.default_rng(1).standard_normal((30, 2))
    mu = S.cosine(0.9, 30, alpha=0.5)
    opt = gdlab.momentum(0.1, mu)
    params, state = jnp.zeros(2), opt.init(jnp.zeros(2))
    b = np.zeros(2)
    for t, g in enumerate(grads):
        update, state = opt.update(jnp.asarray(g), state, params)
        b = float(mu(t)) * b + g
        np.testing.assert_allclose(update, -0.1 * b, rtol=1e-12)


ENGINE_SCHEDULES = (S.step(1e-5, 10), S.cyclic(1e-6, 1e-5, 5),
                    S.warmup_stable_decay(1e-5, 5, 5, 10),
                    S.lrbench("SIN2", k0=1e-6, k1=1e-5, l=5))


def _engine_pairs():
    """Every optimizer through the compiled loop with one of the schedules, in turn, so
    that each schedule drives five or more optimizers; armijo, which the eager test below
    leaves out, with all four. (Each pair is a program of its own, 2 s to compile: the
    full product was 80 of them, 160 s. That every schedule drives every optimizer's
    update is checked eagerly, without compiling, by
    test_every_gallery_schedule_drives_every_optimizer.)"""
    names = sorted(set(gdlab.OPTIMIZERS) - {"armijo"})
    pairs = [(name, ENGINE_SCHEDULES[i % len(ENGINE_SCHEDULES)])
             for i, name in enumerate(names)]
    return pairs + [("armijo", schedule) for schedule in ENGINE_SCHEDULES]


def test_the_engine_pairs_cover_every_optimizer_and_schedule():
    pairs = _engine_pairs()
    assert {name for name, _ in pairs} == set(gdlab.OPTIMIZERS)
    for schedule in ENGINE_SCHEDULES:
        assert sum(s is schedule for _, s in pairs) >= 5, schedule.kind


def test_every_schedule_works_with_every_optimizer():
    problem = gdlab.article_regression(seed=0)
    for name, schedule in _engine_pairs():
        trajectory = gdlab.run(problem, gdlab.optimizer(name, learning_rate=schedule),
                               num_steps=30)
        assert trajectory.status.kind == "max_steps", (name, schedule.kind)
        np.testing.assert_allclose(trajectory.learning_rate, schedule.values(30),
                                   rtol=1e-12, err_msg=f"{name} {schedule.kind}")


@pytest.mark.parametrize("build, parameter", [
    (lambda: S.step(0.1, -5), "step_size"),
    (lambda: S.sgdr(0.1, 0), "first_period"),
    (lambda: S.cyclic(0.1, 1.0, -2), "step_size_up"),
    (lambda: S.multistep(0.1, [10, 5]), "milestones"),
    (lambda: S.join([S.constant(1.0), S.constant(2.0), S.constant(3.0)], [20, 10]),
     "boundaries"),
    (lambda: S.join([S.constant(1.0), S.constant(2.0)], [5, 10]), "boundaries"),
    (lambda: S.cosine(0.1, 10, alpha=2.0), "alpha"),
    (lambda: S.cyclic(0.1, 1.0, 2, mode="sawtooth"), "mode"),
    (lambda: S.lrbench("TRI", k0=0.1, l=4), "k1"),
    (lambda: S.lrbench("FIX", k0=0.1, l=4), "l"),
    (lambda: S.one_cycle(0.1, 2), "pct_start"),
])
def test_bad_schedule_arguments(build, parameter):
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        build()


def test_warmup_longer_than_the_run_is_refused():
    problem = gdlab.article_regression(seed=0)
    spec = gdlab.optimizer("sgd", learning_rate=S.warmup(S.constant(1e-5), 100))
    with pytest.raises(gdlab.InvalidParameterError, match="'warmup_steps'.*num_steps=50"):
        gdlab.run(problem, spec, num_steps=50)


def test_the_gallery_draws_every_schedule(tmp_path):
    import importlib.util

    path = Path(__file__).parents[1] / "docs" / "schedule_gallery.py"
    spec = importlib.util.spec_from_file_location("schedule_gallery", path)
    gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery)
    kinds = {schedule.kind for _, schedule in gallery.GALLERY}
    # every kind a factory builds from numbers (a user function has nothing to draw)
    assert kinds >= set(S.KINDS) - {"function"}
    policies = {dict(s.static)["policy"] for _, s in gallery.GALLERY if s.kind == "lrbench"}
    assert policies == set(S.POLICIES)
    target = gallery.main(tmp_path / "gallery.png")
    assert target.stat().st_size > 10_000


def _gallery():
    import importlib.util

    path = Path(__file__).parents[1] / "docs" / "schedule_gallery.py"
    spec = importlib.util.spec_from_file_location("schedule_gallery", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.GALLERY


# Left out: lars and rprop (LARS's momentum sums steps already scaled by each past rate,
# optax's order, and Rprop reads the rate once, as its initial step size; the golden
# sequences check both under a decaying rate, tests/test_optimizers_golden.py); the
# schedule-free methods' averaging weights and the learning-rate-free methods' estimate d
# (state built from past rates: tests/test_frontier_free.py checks them under a decaying
# rate against optax); Adafactor (PyTorch's relative step is min(lr_t, 1/sqrt(t)), not
# proportional to the rate: tests/test_frontier_matrix.py); L-BFGS as armijo (the rate is
# its line search's first trial) and optax's Polyak step (the ratio of the scaled update),
# both checked under a decaying rate by tests/test_frontier_quasi.py against torch and optax
SCHEDULE_STATEFUL = {"armijo", "lars", "rprop", "schedule_free_sgd", "schedule_free_adamw",
                     "prodigy", "dadapt_adamw", "adafactor", "lbfgs", "polyak_sgd"}


@pytest.mark.parametrize("name", sorted(set(gdlab.OPTIMIZERS) - SCHEDULE_STATEFUL))
def test_every_gallery_schedule_drives_every_optimizer(name):
    # (armijo is left out: a schedule sets its first trial step, the line search the step)
    # Eager, no compilation per schedule. In the default (PyTorch) convention no state of
    # these optimizers depends on the learning rate, so the update at step t with a
    # schedule is schedule(t) times the update with a constant learning rate of 1.
    grads = jnp.array([[1.0, -2.0], [0.5, 0.3], [-1.0, 1.5]])
    reference = gdlab.optimizer(name, learning_rate=1.0).build()
    for title, schedule in _gallery():
        opt = gdlab.optimizer(name, learning_rate=schedule).build()
        params = jnp.zeros(2)
        state, ref_state = opt.init(params), reference.init(params)
        extra = ({"value_fn": lambda p: 0.5 * jnp.sum((p - 1.0) ** 2)}
                 if name in ("newton", "sam") else {})  # SAM: its second gradient
        for t, g in enumerate(grads):
            update, state = opt.update(g, state, params, **extra)
            unit, ref_state = reference.update(g, ref_state, params, **extra)
            np.testing.assert_allclose(update, float(schedule(t)) * unit, rtol=1e-12,
                                       err_msg=title)


def test_a_log_preview_of_zeros_keeps_a_linear_axis_and_says_so():
    """A schedule held at 0 has nothing to draw on a log axis (matplotlib warned and drew
    nothing useful, found by the CLI fuzz test): the axis stays linear, with a note;
    one positive value is enough for the log axis."""
    import warnings

    import matplotlib.pyplot as plt

    from gdlab.plots import plot_schedule

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_schedule(np.zeros(5), log=True)
        assert ax.get_yscale() == "linear"
        assert [t.get_text() for t in ax.texts] == ["no positive value: linear axis"]
        ax = plot_schedule(S.cosine(0.1, 10).values(11), log=True)
        assert ax.get_yscale() == "log" and not ax.texts
    plt.close("all")
