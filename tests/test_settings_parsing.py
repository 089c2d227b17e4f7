"""Typed settings: every boolean and numeric setting of every optimizer and schedule, from
the library and from command-line text, gives the right value or the one-line error.

The boolean settings are found from the factories' default values (a default that is a
bool), independently of the annotations that gdlab reads, so a flag added later without
its annotation fails here.
"""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import gdlab
from gdlab import InvalidParameterError
from gdlab._cli_schedules import schedule_kinds, typed_settings
from gdlab._validation import parse_bool, parse_float, parse_setting
from gdlab.cli import app
from gdlab.optimizers import OPTIMIZERS
from gdlab.optimizers._registry import setting_kinds
from gdlab.schedules import SCHEDULES
from tests.budget import examples

runner = CliRunner()


def _flags_by_default(factory):
    return [p.name for p in inspect.signature(factory).parameters.values()
            if isinstance(p.default, bool)]


BOOL_SETTINGS = [(name, key) for name, info in OPTIMIZERS.items()
                 for key in _flags_by_default(info.factory)]
OPTIONAL_FLAGS = [("rmsprop", "eps_in_sqrt")]  # None: chosen by the convention
SCHEDULE_FLAGS = [(name, key) for name, factory in SCHEDULES.items()
                  for key in _flags_by_default(factory)]

TRUE_SPELLINGS = ["true", "True", "TRUE", "yes", "Yes", "on", "ON", "1", " true "]
FALSE_SPELLINGS = ["false", "False", "FALSE", "no", "NO", "off", "Off", "0", " no "]

# settings under which each flag changes the iterates on the article's problem (checked
# below: a flag that changes nothing could not show that its value was read right)
EXTRA = {("rmsprop", "nesterov"): {"convention": "optax", "momentum": 0.9},
         ("rmsprop", "eps_in_sqrt"): {"eps": 1.0},
         ("adam", "amsgrad"): {"b2": 0.5}, ("adamw", "amsgrad"): {"b2": 0.5},
         ("adam", "decoupled"): {"weight_decay": 0.5},
         # ADOPT clips g / sqrt(v_prev) at t^(1/4): only a gradient that grows does that
         ("adopt", "clip"): {"b2": 0.0},
         # Muon's flag reaches a scalar problem only through optax's fallback (Nesterov Adam)
         ("muon", "nesterov"): {"convention": "optax"}}
RATE = {"momentum": 1e-5, "adopt": 1.0,
        # at 0.05 Prodigy's d barely grows in 20 steps: both safeguard_warmup values print 10
        "prodigy": 1.0}
STEPS = 20


def test_the_flags_found_are_the_known_ones_and_all_declared_bool():
    known = {("momentum", "nesterov"), ("rmsprop", "centered"), ("rmsprop", "nesterov"),
             ("rmsprop", "bias_correction"), ("adam", "amsgrad"), ("adam", "decoupled"),
             ("adamw", "amsgrad")}
    assert known <= set(BOOL_SETTINGS)
    for name, key in BOOL_SETTINGS + OPTIONAL_FLAGS:
        assert setting_kinds(name)[key][0] == "bool", (name, key)
    assert {("exponential", "staircase"), ("one_cycle", "three_phase")} <= set(SCHEDULE_FLAGS)
    for name, key in SCHEDULE_FLAGS:
        assert schedule_kinds(name)[key][0] == "bool", (name, key)


@pytest.mark.parametrize("name, key", BOOL_SETTINGS + OPTIONAL_FLAGS)
@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0, "no", "false", "True", "", [True]])
def test_the_library_refuses_a_non_bool_flag(name, key, value):
    with pytest.raises(InvalidParameterError, match=f"'{key}'.*bool"):
        gdlab.optimizer(name, **EXTRA.get((name, key), {}), **{key: value})


@pytest.mark.parametrize("name, key", BOOL_SETTINGS)
def test_the_library_refuses_none_for_a_flag_without_a_none_default(name, key):
    with pytest.raises(InvalidParameterError, match=f"'{key}'"):
        gdlab.optimizer(name, **{key: None})


@pytest.mark.parametrize("name, key", BOOL_SETTINGS + OPTIONAL_FLAGS)
def test_the_library_takes_python_and_numpy_bools(name, key):
    extra = EXTRA.get((name, key), {})
    for value in (True, False, np.True_, np.False_):
        spec = gdlab.optimizer(name, **extra, **{key: value})
        stored = dict(spec.static)[key]
        assert type(stored) is bool and stored == bool(value)


def _cli_final(name, key, text):
    extra = [f"--set={k}={v}" for k, v in EXTRA.get((name, key), {}).items()]
    result = runner.invoke(app, ["run", "--optimizer", name, "--learning-rate",
                                 str(RATE.get(name, 0.05)), "--steps", str(STEPS),
                                 *extra, "--set", f"{key}={text}"])
    assert result.exit_code == 0, result.output
    return [line.split("│")[2].strip() for line in result.output.splitlines()
            if line.startswith("│ final w ")][0]


def _library_final(name, key, value):
    spec = gdlab.optimizer(name, learning_rate=RATE.get(name, 0.05),
                           **EXTRA.get((name, key), {}), **{key: value})
    trajectory = gdlab.run(gdlab.article_regression(seed=0), spec, num_steps=STEPS)
    return f"{trajectory.final_params[0]:.6g}"


@pytest.mark.parametrize("name, key", BOOL_SETTINGS + OPTIONAL_FLAGS)
def test_a_flag_written_as_text_runs_as_its_meaning(name, key):
    """By behaviour: the CLI's final parameter with a spelling equals the library's run
    with that bool, and the two bools give different parameters."""
    with_true, with_false = _library_final(name, key, True), _library_final(name, key, False)
    assert with_true != with_false, "the flag must matter for this check to mean anything"
    for text in TRUE_SPELLINGS:
        assert _cli_final(name, key, text) == with_true, text
    for text in FALSE_SPELLINGS:
        assert _cli_final(name, key, text) == with_false, text


def test_nesterov_no_is_bit_identical_to_false_and_differs_from_true(tmp_path):
    finals = {}
    for text in ("no", "false", "off", "0", "yes", "true", "1", "ON"):
        out = tmp_path / text
        result = runner.invoke(app, ["run", "--optimizer", "momentum", "--learning-rate",
                                     "1e-5", "--steps", "20", "--set", f"nesterov={text}",
                                     "--out", str(out)])
        assert result.exit_code == 0, result.output
        import pandas as pd

        finals[text] = pd.read_parquet(out / "trajectory.parquet")["param_w"].to_numpy()
    for value, texts in ((False, ("no", "false", "off", "0")), (True, ("yes", "true", "1", "ON"))):
        spec = gdlab.optimizer("momentum", learning_rate=1e-5, nesterov=value)
        expected = gdlab.run(gdlab.article_regression(seed=0), spec, num_steps=20)
        for text in texts:
            assert finals[text][-1] == expected.final_params[0], text
    assert not np.array_equal(finals["no"], finals["yes"])


@pytest.mark.parametrize("name, key", BOOL_SETTINGS + OPTIONAL_FLAGS)
@pytest.mark.parametrize("text", ["maybe", "", "2", "-1", "y", "n", "t", "0.0", "tru e"])
def test_a_flag_that_is_no_boolean_word_is_one_line_and_exit_2(name, key, text):
    result = runner.invoke(app, ["run", "--optimizer", name, "--steps", "1",
                                 "--set", f"{key}={text}"])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: The '--set {key}' parameter must be a boolean")
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("name, key", SCHEDULE_FLAGS)
def test_schedule_flags_from_text_and_from_the_library(name, key):
    # steps of 10 updates, so that the staircase differs from the smooth decay
    required = {"exponential": {"init_value": 1.0, "decay_rate": 0.5, "transition_steps": 10},
                "inverse_time": {"init_value": 1.0, "decay_rate": 0.5, "decay_steps": 10},
                "one_cycle": {"max_value": 0.1, "total_steps": 100}}[name]
    kinds = schedule_kinds(name)
    for texts, value in ((TRUE_SPELLINGS, True), (FALSE_SPELLINGS, False)):
        for text in texts:
            assert typed_settings({key: text}, kinds) == {key: value}
    # by behaviour: 'no' gives the values of False, 'yes' those of True, and they differ
    build = SCHEDULES[name]

    def values(flag):
        built = build(**required, **{key: flag})
        built = built["learning_rate"] if isinstance(built, dict) else built
        return built.values(100)

    parsed_no = typed_settings({key: "no"}, kinds)[key]
    parsed_yes = typed_settings({key: "YES"}, kinds)[key]
    assert np.array_equal(values(parsed_no), values(False))
    assert np.array_equal(values(parsed_yes), values(True))
    assert not np.array_equal(values(True), values(False))
    for bad in (0, 1, "no", None):
        with pytest.raises(InvalidParameterError, match=f"'{key}'"):
            build(**required, **{key: bad})


# numbers ---------------------------------------------------------------------------------

NUMERIC = [(name, key) for name in OPTIMIZERS for key, (kind, _) in setting_kinds(name).items()
           if kind == "float" and key != "learning_rate"]


@pytest.mark.parametrize("text", ["", " ", "0x10", "0.9,0.5", "nan", "inf", "-inf", "1e999",
                                  "1_0", "0.9.1", "abc", "1e", "--1", "0,9"])
@pytest.mark.parametrize("name, key", [("momentum", "momentum"), ("adam", "b1"),
                                       ("adam", "eps"), ("rmsprop", "decay")])
def test_a_numeric_setting_that_is_no_number_is_one_line_and_exit_2(name, key, text):
    result = runner.invoke(app, ["run", "--optimizer", name, "--steps", "1",
                                 "--set", f"{key}={text}"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: The '--set {key}' parameter must be a finite "
                                    "decimal number")
    assert len(result.output.strip().splitlines()) == 1


def test_every_numeric_setting_refuses_text_and_undeclared_none_in_the_library():
    assert ("momentum", "momentum") in NUMERIC and ("adam", "b2") in NUMERIC
    for name, key in NUMERIC:
        with pytest.raises(InvalidParameterError, match=f"'{key}'"):
            gdlab.optimizer(name, **{key: "0.5"})
        optional = setting_kinds(name)[key][1]
        if not optional:
            with pytest.raises(InvalidParameterError, match=f"'{key}'"):
                gdlab.optimizer(name, **{key: None})


@pytest.mark.parametrize("text, expected", [("0.9", 0.9), (" 0.5 ", 0.5), ("1e-3", 1e-3),
                                            ("-2", -2.0), ("+.5", 0.5), ("3.", 3.0),
                                            ("1E2", 100.0)])
def test_decimal_text_is_read_as_python_reads_it(text, expected):
    assert parse_float("x", text) == expected
    assert parse_setting("x", text, "float") == expected


@settings(max_examples=examples(200), deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_written_by_repr_reads_back_exactly(number):
    assert parse_float("x", repr(number)) == number


@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=12))
def test_fuzzed_text_is_a_value_or_the_one_line_error(text):
    """Against Python's own readers: a bool word maps as the table says, a float is what
    float() reads (when it is a plain decimal), and anything else is refused by name."""
    word = text.strip().lower()
    try:
        flag = parse_bool("--set f", text)
    except InvalidParameterError as error:
        assert word not in {"true", "yes", "on", "1", "false", "no", "off", "0"}
        assert error.parameter == "--set f" and error.received == text
    else:
        assert flag == (word in {"true", "yes", "on", "1"})
    try:
        number = parse_float("--set x", text)
    except InvalidParameterError as error:
        assert error.parameter == "--set x"
    else:
        assert number == float(text.strip()) and np.isfinite(number)
        assert set(text.strip()) <= set("0123456789+-.eE")
    try:
        whole = parse_setting("--set n", text, "int")
    except InvalidParameterError:
        pass
    else:
        assert whole == int(text.strip()) and set(text.strip()) <= set("0123456789+-")


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=5))
def test_lists_read_back_and_empty_items_are_refused(numbers):
    text = ",".join(repr(n) for n in numbers)
    assert parse_setting("--set milestones", text, "list") == numbers
    for bad in (text + ",", "," + text, text.replace(",", ",,", 1) if "," in text else ""):
        with pytest.raises(InvalidParameterError, match="comma-separated"):
            parse_setting("--set milestones", bad, "list")


def test_an_int_setting_takes_digits_only():
    kinds = schedule_kinds("one_cycle")
    assert typed_settings({"total_steps": "100"}, kinds) == {"total_steps": 100}
    for bad in ("1e3", "10.5", "0x10", "", "ten"):
        with pytest.raises(InvalidParameterError, match="'--set total_steps'.*integer"):
            typed_settings({"total_steps": bad}, kinds)


def test_undeclared_keys_stay_text_and_are_refused_by_the_optimizer_by_name():
    result = runner.invoke(app, ["run", "--optimizer", "sgd", "--set", "colour=red"])
    assert result.exit_code == 2 and "'colour'" in result.output
    assert "setting of optimizer 'sgd'" in result.output


# every setting can be set ----------------------------------------------------------------

def _explicit_defaults():
    """(optimizer, setting, its default value) for every numeric setting: the factory's
    own default, or, where that is None, the one its default convention picks."""
    from gdlab.optimizers._registry import CONVENTION_DEFAULTS

    found = []
    for name, info in OPTIMIZERS.items():
        parameters = inspect.signature(info.factory).parameters
        convention = parameters["convention"].default if "convention" in parameters else None
        by_convention = CONVENTION_DEFAULTS.get(name, {}).get(convention, {})
        for key, (kind, _) in setting_kinds(name).items():
            if kind not in ("float", "int") or key == "learning_rate":
                continue
            default = parameters[key].default
            default = by_convention.get(key) if default is None else default
            if default is not None:
                found.append((name, key, default))
    return found


def _explicit_defaults_by_optimizer():
    found = {}
    for name, key, default in _explicit_defaults():
        found.setdefault(name, {})[key] = default
    return sorted(found.items())


@pytest.mark.parametrize("name, defaults", _explicit_defaults_by_optimizer())
def test_setting_a_number_to_its_default_changes_nothing(name, defaults):
    """Set, a number is data (traced); unset, a constant: the runs must agree. Setting
    armijo's shrink, c or max_backtracks used to fail every run (their checks refused
    the traced values). All of an optimizer's numbers are set at once (one program per
    optimizer: a refused traced value still fails the run, and a value that moved the
    run would still move it); a failure is then pinned down one setting at a time."""
    problem = gdlab.article_regression(seed=0)
    unset = gdlab.run(problem, gdlab.optimizer(name, learning_rate=1e-5), num_steps=3)
    try:
        spec = gdlab.optimizer(name, learning_rate=1e-5, **defaults)
        explicit = gdlab.run(problem, spec, num_steps=3)
        np.testing.assert_allclose(explicit.final_params, unset.final_params, rtol=1e-12)
        assert explicit.status.kind == unset.status.kind
    except Exception:  # which setting: one at a time (slow, only on failure)
        for key, default in defaults.items():
            spec = gdlab.optimizer(name, learning_rate=1e-5, **{key: default})
            explicit = gdlab.run(problem, spec, num_steps=3)
            np.testing.assert_allclose(explicit.final_params, unset.final_params,
                                       rtol=1e-12, err_msg=f"{name}.{key}")
        raise


def test_the_defaults_cover_the_settings_that_broke():
    keys = {(name, key) for name, key, _ in _explicit_defaults()}
    assert {("armijo", "shrink"), ("armijo", "c"), ("armijo", "max_backtracks"),
            ("adam", "eps"), ("momentum", "momentum")} <= keys
