"""``gdlab list optimizers`` and ``gdlab list schedules`` in a terminal.

Every line fits the width, nothing is raw LaTeX or reStructuredText, every optimizer's
every declared hyperparameter shows its table's default and range, every schedule and
every mode is named, and each plain formula, evaluated here step by step, gives the
schedule's own values.
"""

import inspect
import math
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from gdlab import cli
from gdlab.cli import app
from gdlab.optimizers import OPTIMIZERS, reduce_on_plateau
from gdlab.schedules import POLICIES, SCHEDULES
from gdlab.schedules._compose import WSD_DECAYS
from gdlab.schedules._cyclic import CYCLIC_MODES
from gdlab.schedules._lrbench import _NEEDS
from gdlab.schedules._text import TEXTS

runner = CliRunner()
MARKUP = (":math:", "\\", "``", "…")


def listing(monkeypatch, width, *words):
    monkeypatch.setattr(cli.console, "width", width)
    result = runner.invoke(app, ["list", *words])
    assert result.exit_code == 0, result.output
    return result.output


def blocks(text):
    """The listing's blocks by name: the lines after a blank line up to the next one."""
    found = {}
    for chunk in text.split("\n\n")[1:]:
        head = chunk.split("\n", 1)[0]
        found[head.split("  ", 1)[0]] = chunk
    return found


def head(block):
    """A block's first line with the lines that continue it (deeper than indent 2)."""
    lines = block.splitlines()
    end = next((i for i, line in enumerate(lines[1:], 1) if re.match(r"  \S", line)),
               len(lines))
    return " ".join(" ".join(lines[:end]).split())


def rows(block):
    """A block's rows (a line at indent 2, with the more indented lines that continue
    it), by their first word, each as one line of single spaces."""
    found, current = {}, None
    for line in block.splitlines()[1:]:
        if re.match(r"  \S", line):
            current = line.split()[0]
            found.setdefault(current, line)
        elif current is not None and line.startswith("   "):
            found[current] += " " + line
    return {k: " ".join(v.split()) for k, v in found.items()}


def shown(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ",".join(shown(v) for v in value)
    return str(value)


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("what", ["optimizers", "schedules"])
def test_every_line_fits_the_width_and_is_plain_text(monkeypatch, what, width):
    text = listing(monkeypatch, width, what)
    for line in text.splitlines():
        assert len(line) <= width, line
    for mark in MARKUP:
        assert mark not in text, mark


def test_every_optimizer_shows_each_setting_with_its_default_and_range(monkeypatch):
    found = blocks(listing(monkeypatch, 80, "optimizers"))
    assert list(found) == list(OPTIMIZERS)
    for name, info in OPTIMIZERS.items():
        block = found[name]
        flat = " ".join(block.split())  # a word cut by a line break would not match
        assert " ".join(info.summary.split()) in flat and " ".join(
            info.reference.split()) in flat, name
        table_rows = rows(block)
        if info.table is None:  # not yet declared: the factory's keywords at least
            keywords = [k for k, p in inspect.signature(info.factory).parameters.items()
                        if p.default is not inspect.Parameter.empty]
            assert all(k in table_rows for k in keywords), (name, keywords)
            continue
        conventions = info.table.conventions
        for entry in info.table:
            row = table_rows[entry.name]
            values = [entry.default_for(c) for c in conventions] or [entry.default]
            if len({shown(v) for v in values}) > 1:  # each convention's own
                for convention, value in zip(conventions, values, strict=True):
                    assert f"{convention} {shown(value)}" in row, (name, row)
            else:
                assert f"{entry.name} {shown(values[0])} " in row + " ", (name, row)
            if entry.kind in ("float", "int", "floats"):
                assert entry.interval() in row, (name, row)
            elif entry.kind == "choice":
                assert all(c in row for c in entry.choices), (name, row)
            assert ("schedule ok" in row) == entry.schedule, (name, row)
            if entry.name != "convention":
                assert " ".join(entry.text.split()) in row, (name, row)


@pytest.mark.parametrize("width", [80, 200])
def test_the_per_convention_defaults_the_registry_states_are_shown(monkeypatch, width):
    from gdlab.optimizers._registry import CONVENTION_DEFAULTS

    found = blocks(listing(monkeypatch, width, "optimizers"))
    for name, by_convention in CONVENTION_DEFAULTS.items():
        table_rows = rows(found[name])
        for key in {k for values in by_convention.values() for k in values}:
            values = {c: v[key] for c, v in by_convention.items() if key in v}
            if len({shown(v) for v in values.values()}) > 1:
                for convention, value in values.items():
                    assert f"{convention} {shown(value)}" in table_rows[key], (name, key)
            else:
                assert shown(next(iter(values.values()))) in table_rows[key], (name, key)


def test_naming_one_optimizer_shows_it_alone_and_an_unknown_one_is_refused(monkeypatch):
    text = listing(monkeypatch, 80, "optimizers", "nesterov")
    assert list(blocks(text)) == ["nesterov"]
    assert rows(blocks(text)["nesterov"])["momentum"].startswith("momentum 0.9 [0, 1)")
    result = runner.invoke(app, ["list", "optimizers", "nope"])
    assert result.exit_code == 2 and "'optimizer'" in result.output and "'nope'" in \
        result.output
    result = runner.invoke(app, ["list", "problems", "nesterov"])
    assert result.exit_code == 2 and "'NAME'" in result.output


def test_every_schedule_every_mode_and_reduce_on_plateau_are_listed(monkeypatch):
    text = listing(monkeypatch, 80, "schedules")
    found = blocks(text)
    *names, footer = found  # the last: the schedules composed in Python, by name
    assert names == [*SCHEDULES, "reduce_on_plateau"]
    assert "warmup" in footer and "join" in footer
    flat = " ".join(text.split())
    for mode in CYCLIC_MODES:
        assert f"mode={mode} " in found["cyclic"]
    for policy in POLICIES:
        assert f"policy={policy} " in found["lrbench"]
    for decay in WSD_DECAYS:
        assert f"decay={decay} " in found["warmup_stable_decay"]
    for strategy in ("cos", "linear"):
        assert f"anneal_strategy={strategy} " in found["one_cycle"]
    for name, factory in SCHEDULES.items():  # its settings, by their names
        for key, parameter in inspect.signature(factory).parameters.items():
            if parameter.kind != parameter.VAR_KEYWORD:
                assert key in head(found[name]), (name, key)
    for key, parameter in inspect.signature(reduce_on_plateau).parameters.items():
        if parameter.default is not inspect.Parameter.empty:
            assert f"{key}={shown(parameter.default)}" in flat, key
    for name, text in TEXTS.items():  # every formula whole, every word uncut
        formulas = [*text.formula.value, *text.formula.where]
        formulas += [line for mode in text.modes.values() for line in mode.value + mode.where]
        for line in formulas:
            assert " ".join(line.split()) in " ".join(found[name].split()), (name, line)
    one = blocks(listing(monkeypatch, 80, "schedules", "cyclic"))
    assert list(one) == ["cyclic"]


def test_each_mode_the_factories_accept_has_its_text():
    assert set(TEXTS) == set(SCHEDULES)
    modes = {"cyclic": CYCLIC_MODES, "lrbench": POLICIES, "warmup_stable_decay": WSD_DECAYS,
             "one_cycle": ("cos", "linear")}
    for name, text in TEXTS.items():
        assert tuple(text.modes) == tuple(modes.get(name, ())), name
        if text.mode:
            assert text.mode in inspect.signature(SCHEDULES[name]).parameters
        for _, setting in text.symbols:
            assert setting in inspect.signature(SCHEDULES[name]).parameters, (name, setting)


@pytest.mark.parametrize("command", [["run"], ["lr-find"]])
def test_the_help_of_set_says_where_each_optimizers_settings_are_listed(command):
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.replace("│", " ").split())
    assert "settings, defaults and ranges: `gdlab list optimizers NAME`" in text
    assert "see `gdlab list optimizers`" in text  # --optimizer's


# the formulas, evaluated -----------------------------------------------------------------

FUNCTIONS = {"floor": math.floor, "cos": math.cos, "sin": math.sin, "asin": math.asin,
             "sqrt": math.sqrt, "log": math.log, "pi": math.pi, "min": min, "max": max,
             "abs": abs, "clip": lambda x, a, b: min(max(x, a), b),
             "count": lambda flags: int(np.count_nonzero(flags))}


def evaluate(lines, env):
    """Run ``lhs = rhs`` lines (``^`` a power, ``f(a, b) = ...`` a function) in ``env``."""
    for line in lines:
        lhs, rhs = (part.strip() for part in line.split(" = ", 1))
        rhs = rhs.replace("^", "**")
        call = re.fullmatch(r"(\w+)\(([\w, ]*)\)", lhs)
        if call:
            env[call[1]] = eval(f"lambda {call[2]}: {rhs}", {**FUNCTIONS}, env)  # noqa: S307
        else:
            env[lhs] = eval(rhs, {**FUNCTIONS}, env)  # noqa: S307
    return env


SAMPLES = [
    ("constant", {"value": 0.3}),
    ("step", {"init_value": 0.5, "step_size": 7.0, "gamma": 0.6}),
    ("multistep", {"init_value": 0.5, "milestones": (5.0, 12.0, 30.0), "gamma": 0.5}),
    ("exponential", {"init_value": 0.4, "decay_rate": 0.7, "transition_steps": 4.0,
                     "transition_begin": 3.0}),
    ("inverse_time", {"init_value": 0.4, "decay_rate": 0.5, "decay_steps": 3.0}),
    ("polynomial", {"init_value": 0.5, "end_value": 0.05, "power": 2.0,
                    "transition_steps": 20.0, "transition_begin": 4.0}),
    ("cosine", {"init_value": 0.5, "decay_steps": 25.0, "alpha": 0.1, "exponent": 2.0}),
    ("sgdr", {"init_value": 0.5, "first_period": 5.0, "period_mult": 1.0,
              "min_value": 0.05, "restart_decay": 0.7}),
    ("sgdr", {"init_value": 0.5, "first_period": 5.0, "period_mult": 2.0,
              "min_value": 0.05, "restart_decay": 0.7}),
    ("cyclic", {"base_value": 0.1, "max_value": 0.5, "step_size_up": 4.0,
                "step_size_down": 6.0, "gamma": 0.97}),
    ("one_cycle", {"max_value": 0.5, "total_steps": 60.0, "pct_start": 0.3,
                   "div_factor": 25.0, "final_div_factor": 1e4, "base_momentum": 0.85,
                   "max_momentum": 0.95}),
    ("warmup_stable_decay", {"peak_value": 0.5, "warmup_steps": 5.0, "stable_steps": 10.0,
                             "decay_steps": 20.0, "end_value": 0.05}),
]
LRBENCH = {"k0": 0.1, "k1": 0.5, "gamma": 0.97, "p": 2.0, "l": 6.0,
           "milestones": (5.0, 12.0)}
STEPS = 60


def cases():
    for name, settings in SAMPLES:
        for mode in TEXTS[name].modes or [None]:
            yield pytest.param(name, settings, mode, id=f"{name}-{mode}-"
                               f"{settings.get('period_mult', '')}")
    for policy in POLICIES:
        yield pytest.param("lrbench", {k: LRBENCH[k] for k in _NEEDS[policy]}, policy,
                           id=f"lrbench-{policy}")


@pytest.mark.parametrize(("name", "settings", "mode"), list(cases()))
def test_each_plain_formula_gives_the_schedules_values(name, settings, mode):
    text = TEXTS[name]
    built = SCHEDULES[name](**settings, **({text.mode: mode} if mode else {}))
    parts = built if isinstance(built, dict) else {"learning_rate": built}
    steps = np.arange(STEPS)
    expected = {key: np.asarray(schedule(steps)) for key, schedule in parts.items()}
    chosen = text.modes[mode] if mode else None
    lines = [*text.formula.where, *(chosen.where + chosen.value if chosen else ()),
             *text.formula.value]
    # every symbol a formula uses is a setting given, a name it defines, or t
    values = {key: np.asarray(v) if isinstance(v, tuple) else v for key, v in settings.items()}
    symbols = {symbol: values[setting] for symbol, setting in text.symbols
               if setting in values}
    got = {"learning_rate": [], "momentum": []}
    for t in steps:
        env = evaluate(lines, {**values, **symbols, "t": float(t)})
        got["learning_rate"].append(env["lr_t"])
        got["momentum"].append(env.get("momentum_t"))
    for key, values_ in expected.items():
        np.testing.assert_allclose(np.asarray(got[key], dtype=float), values_, rtol=1e-12,
                                   atol=1e-15, err_msg=f"{name} {mode} {key}")
    if name == "lrbench":  # the formula names exactly the settings the policy takes
        words = set(re.findall(r"[A-Za-z_]\w*", " ".join(lines)))
        assert set(_NEEDS[mode]) <= words, (mode, set(_NEEDS[mode]) - words)
