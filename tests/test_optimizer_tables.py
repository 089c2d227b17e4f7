"""Each optimizer's declared table (gdlab.optimizers._hyper) against its factory.

The table is the one place a hyperparameter's range and default live; these tests hold
it to the factory that uses it: the same names as its keywords, the same defaults as its
signature, a value just outside each range refused by the factory and by the sweep
planner (which must not build the optimizer with it), and a schedule accepted exactly
where the table says so (and then equal to the constant it stands for).
"""

import inspect
import math
from dataclasses import replace

import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab._validation import InvalidParameterError
from gdlab.optimizers import OPTIMIZERS
from gdlab.optimizers._hyper import Hyperparameter, Table

NAMES = sorted(OPTIMIZERS)
# keywords that are no hyperparameter: what the factory acts on, not a number to tune
NOT_HYPERPARAMETERS = {
    "layout",      # matrix methods: the parameter layout (the engine passes the problem's)
    "optimizer",   # sam: the inner optimizer
}


def _rows():
    for name in NAMES:
        table = OPTIMIZERS[name].table
        if table is None:
            continue
        for entry in table:
            yield name, entry


ROWS = list(_rows())
ROW_IDS = [f"{name}.{entry.name}" for name, entry in ROWS]


@pytest.mark.parametrize("name", NAMES)
def test_every_optimizer_declares_a_table(name):
    assert isinstance(OPTIMIZERS[name].table, Table), name


@pytest.mark.parametrize("name", NAMES)
def test_table_names_are_the_factory_keywords(name):
    table = OPTIMIZERS[name].table
    if table is None:
        pytest.skip("no table yet")
    keywords = set(inspect.signature(OPTIMIZERS[name].factory).parameters)
    assert set(table.names) == keywords - NOT_HYPERPARAMETERS, name
    assert "convention" in table.names, f"{name} takes no convention="


@pytest.mark.parametrize("name", NAMES)
def test_table_defaults_are_the_signature_defaults(name):
    info = OPTIMIZERS[name]
    if info.table is None:
        pytest.skip("no table yet")
    signature = inspect.signature(info.factory).parameters
    for entry in info.table:
        assert signature[entry.name].default == entry.default, (name, entry.name)
        if entry.default is None and not entry.optional:  # the convention chooses it
            assert set(entry.by_convention) == set(info.table.conventions), (name, entry.name)
    for key, value in info.defaults.items():  # what a spec fixes by default
        if key not in info.table:
            assert key in NOT_HYPERPARAMETERS, (name, key)
        elif info.table[key].default is None:  # the registry's choice, within the range
            assert info.table[key].check(value) == value, (name, key)
        else:
            assert info.table[key].default == value, (name, key)


def _build(name, **settings):
    """The factory with its table's defaults (the default convention's) and ``settings``."""
    return OPTIMIZERS[name].factory(**settings)


@pytest.mark.parametrize(("name", "entry"), ROWS, ids=ROW_IDS)
def test_a_value_just_outside_is_refused_naming_it(name, entry):
    outside = entry.outside()
    assert outside, (name, entry.name)
    for value in outside:
        with pytest.raises(InvalidParameterError) as caught:
            _build(name, **{entry.name: value})
        assert caught.value.parameter == entry.name, (name, entry.name, value)
        assert entry.allowed() in str(caught.value), str(caught.value)


@pytest.mark.parametrize(("name", "entry"), ROWS, ids=ROW_IDS)
def test_a_value_just_inside_is_accepted(name, entry):
    table = OPTIMIZERS[name].table
    if any(entry.name in rule.names for rule in table.rules):
        pytest.skip("a rule between settings also judges this one")
    # a setting allowed in some conventions only is tried in the first of them
    where = {"convention": entry.only[0]} if entry.only and entry.name != "convention" else {}
    for value in _inside(entry):
        _build(name, **{**where, entry.name: value})


def _inside(entry: Hyperparameter) -> list:
    if entry.kind == "bool":
        return [True, False]
    if entry.kind == "choice":
        return list(entry.choices)
    values = []
    for bound, side, direction in ((entry.low, "left", 1), (entry.high, "right", -1)):
        if not math.isfinite(bound):
            continue
        if entry.kind == "int" or entry.closed in ("both", side):
            values.append(int(bound) if entry.kind == "int" else float(bound))
        else:
            values.append(bound + direction * max(abs(bound), 1.0) * 1e-6)
    return values


def _grads(k):
    return jnp.array([0.5, -2.0, 1e-3]) * (k + 1) + jnp.array([0.1, 0.0, -0.3]) * k ** 2


def _bowl(p):
    return 0.5 * jnp.sum((p - 1.0) ** 2)


def _three_updates(opt):
    params = jnp.array([0.3, -0.7, 1.1])
    state = opt.init(params)
    accepted = inspect.signature(opt.update).parameters
    out = []
    for k in range(3):
        extra = {"value_fn": _bowl} if "value_fn" in accepted else {}
        if "value" in accepted:
            extra["value"] = _bowl(params)
        update, state = opt.update(_grads(k), state, params, **extra)
        params = params + update
        out.append(np.asarray(params))
    return np.array(out)


SCHEDULE_ROWS = [(n, e) for n, e in ROWS if e.kind == "float" and e.default is not None
                 and not isinstance(e.default, tuple)]


@pytest.mark.parametrize(("name", "entry"), SCHEDULE_ROWS,
                         ids=[f"{n}.{e.name}" for n, e in SCHEDULE_ROWS])
def test_a_schedule_is_taken_exactly_where_the_table_says(name, entry):
    from gdlab.schedules import constant as constant_schedule

    constant = constant_schedule(entry.default)
    if entry.schedule:
        expected = _three_updates(_build(name))
        got = _three_updates(_build(name, **{entry.name: constant}))
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0, err_msg=name)
    else:
        with pytest.raises(InvalidParameterError) as caught:
            _build(name, **{entry.name: constant})
        assert caught.value.parameter == entry.name


@pytest.fixture(scope="module")
def problem():
    return gdlab.linear_regression(n_samples=20, n_features=2, noise=0.1, seed=0)


PLANNER_ROWS = [(n, e) for n, e in ROWS if e.kind == "float" and e.outside()
                and not e.only]


@pytest.mark.parametrize(("name", "entry"), PLANNER_ROWS,
                         ids=[f"{n}.{e.name}" for n, e in PLANNER_ROWS])
def test_the_sweep_planner_refuses_it_without_building(name, entry, problem, monkeypatch):
    from gdlab.sweeps import _plan

    bad = entry.outside()[0]
    seen = []
    info = OPTIMIZERS[name]

    def recording(**settings):
        seen.append(settings.get(entry.name))
        return info.factory(**settings)

    recording.__signature__ = inspect.signature(info.factory)
    monkeypatch.setitem(OPTIMIZERS, name, replace(info, factory=recording))
    good = entry.default_for(info.table.default_convention)
    if good is None:
        good = _inside(entry)[0]
    with pytest.raises(InvalidParameterError) as caught:
        gdlab.sweep(problem, name, grid={entry.name: [good, bad]}, num_steps=5)
    assert caught.value.parameter == f"grid.{entry.name}", str(caught.value)
    assert not any(v is not None and (v == bad or (v != v and bad != bad)) for v in seen), seen
    assert _plan  # the planner module is the one that judged it
