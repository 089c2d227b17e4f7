"""The user-expression parser: values and gradients against NumPy written by hand,
jit/vmap, hashing, and every refusal, fuzzed with hypothesis."""

import builtins
import pickle
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from gdlab import InvalidParameterError
from gdlab.problems import Expression, parse_expression
from gdlab.problems._expression import MAX_DEPTH, MAX_LENGTH, ExpressionPiece
from tests.budget import examples

# 120 terms: deeper than MAX_DEPTH if a left-to-right chain counted one level per term
LONG_SUM = " + ".join(f"{i}*x{i}**2" for i in range(1, 121))

# text, the same formula in NumPy written by hand, number of parameters, box of points
CASES = [
    ("x**2 + 10*y**2", lambda x, y: x**2 + 10 * y**2, 2, (-2, 2)),
    ("(1 - x)**2 + 100*(y - x**2)**2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, 2,
     (-2, 2)),
    ("sin(x1) + x2**2 + x3", lambda a, b, c: np.sin(a) + b**2 + c, 3, (-3, 3)),
    ("exp(-x) * cos(y) / (2 + tanh(x*y))",
     lambda x, y: np.exp(-x) * np.cos(y) / (2 + np.tanh(x * y)), 2, (-2, 2)),
    ("log(1 + x**2) + sqrt(abs(y)) - tan(x/3)",
     lambda x, y: np.log(1 + x**2) + np.sqrt(np.abs(y)) - np.tan(x / 3), 2, (0.1, 2)),
    ("max(x, y, 0.5) - min(x*y, -x, 2)",
     lambda x, y: max(x, y, 0.5) - min(x * y, -x, 2), 2, (-2, 2)),
    ("-x**2 + +y - -x", lambda x, y: -(x**2) + y + x, 2, (-2, 2)),
    ("2**-x + x**-2 + x**0.5 + x**3**0.5",
     lambda x: 2.0 ** (-x) + 1 / x**2 + np.sqrt(x) + x ** np.sqrt(3), 1, (0.5, 2)),
    ("x1 - x2 - x3 / x1 / 2", lambda a, b, c: (a - b) - (c / a) / 2, 3, (0.5, 2)),
    ("2**3**2 * y + 1.5e-3*x - 7", lambda x, y: 512 * y + 0.0015 * x - 7, 2, (-2, 2)),
    ("x**y", lambda x, y: x**y, 2, (0.5, 2)),
    (LONG_SUM, lambda *v: sum(i * v[i - 1] ** 2 for i in range(1, 121)), 120, (-1, 1)),
]
IDS = [case[0][:30] for case in CASES]


def points(num_params, box, seed, count=5):
    return np.random.default_rng(seed).uniform(*box, size=(count, num_params))


@pytest.mark.parametrize(("text", "reference", "num_params", "box"), CASES, ids=IDS)
def test_values_equal_numpy(text, reference, num_params, box):
    expression = parse_expression(text)
    assert expression.num_params == num_params
    for point in points(num_params, box, seed=1):
        got = float(expression.fn(jnp.asarray(point)))
        want = float(reference(*point))
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("text", "reference", "num_params", "box"), CASES, ids=IDS)
def test_gradient_equals_central_differences_of_numpy(text, reference, num_params, box):
    expression = parse_expression(text)
    grad = jax.jit(jax.grad(expression.fn))
    h = 1e-6
    for point in points(num_params, box, seed=2, count=2 if num_params > 10 else 5):
        got = np.asarray(grad(jnp.asarray(point)))
        want = np.empty(num_params)
        for i in range(num_params):
            step = np.zeros(num_params)
            step[i] = h
            want[i] = (reference(*(point + step)) - reference(*(point - step))) / (2 * h)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("text", "reference", "num_params", "box"), CASES[:8], ids=IDS[:8])
def test_jit_and_vmap_agree_with_eager(text, reference, num_params, box):
    expression = parse_expression(text)
    batch = points(num_params, box, seed=3)
    eager = np.array([float(expression.fn(jnp.asarray(p))) for p in batch])
    jitted = np.array([float(jax.jit(expression.fn)(jnp.asarray(p))) for p in batch])
    mapped = np.asarray(jax.vmap(expression.fn)(jnp.asarray(batch)))
    np.testing.assert_allclose(jitted, eager, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(mapped, eager, rtol=1e-14, atol=1e-14)
    grads = np.asarray(jax.vmap(jax.grad(expression.fn))(jnp.asarray(batch)))
    one_by_one = np.array([np.asarray(jax.grad(expression.fn)(jnp.asarray(p))) for p in batch])
    np.testing.assert_allclose(grads, one_by_one, rtol=1e-14, atol=1e-14)


def test_integer_power_of_a_negative_base_has_its_gradient():
    # x**3 at x = -2: a float power exp(3 log x) would give nan
    expression = parse_expression("x**3")
    assert float(expression.fn(jnp.array([-2.0]))) == -8.0
    assert float(jax.grad(expression.fn)(jnp.array([-2.0]))[0]) == 12.0


@pytest.mark.parametrize(("text", "variables"), [
    ("x**2", ("x",)),
    ("y**2", ("x", "y")),
    ("y*x", ("x", "y")),
    ("x3 + x1", ("x1", "x2", "x3")),
    ("x12", tuple(f"x{i}" for i in range(1, 13))),
])
def test_variables_in_parameter_order(text, variables):
    expression = parse_expression(text)
    assert expression.variables == variables
    assert expression.num_params == len(variables)


def test_each_variable_reads_its_own_coordinate():
    expression = parse_expression("x3 + 10*x1")  # x2 exists and does not matter
    point = jnp.array([1.0, 5.0, 2.0])
    assert float(expression.fn(point)) == 12.0
    assert np.asarray(jax.grad(expression.fn)(point)).tolist() == [10.0, 0.0, 1.0]
    y_only = parse_expression("y")
    assert float(y_only.fn(jnp.array([4.0, 7.0]))) == 7.0


def test_params_of_the_wrong_shape_are_refused():
    expression = parse_expression("x + y")
    for bad in (jnp.zeros(3), jnp.zeros((1, 2)), jnp.float64(1.0)):
        with pytest.raises(InvalidParameterError, match="'params'.*length 2 \\(x, y\\)"):
            expression.fn(bad)


def test_dtype_follows_the_parameters():
    expression = parse_expression("x**2 + sin(y) / 3")
    assert expression.fn(jnp.array([1.0, 2.0], dtype=jnp.float32)).dtype == jnp.float32
    assert expression.fn(jnp.array([1.0, 2.0])).dtype == jnp.float64
    assert float(expression.fn(np.array([3, 0]))) == 9.0  # integers are read as floats


def test_equal_text_is_equal_hashable_and_compiles_once():
    a, b, c = parse_expression("x**2 + y"), Expression("x**2 + y"), parse_expression("x**3 + y")
    assert a == b and hash(a) == hash(b) and a != c
    traces = []

    @partial(jax.jit, static_argnums=0)
    def value(expression, params):
        traces.append(expression.text)
        return expression.fn(params)

    point = jnp.array([2.0, 1.0])
    assert float(value(a, point)) == 5.0
    assert float(value(b, point)) == 5.0
    assert traces == ["x**2 + y"]  # the second, equal expression reused the program
    assert float(value(c, point)) == 9.0
    assert traces == ["x**2 + y", "x**3 + y"]


def test_pickle_round_trip():
    expression = parse_expression("(1 - x)**2 + 100*(y - x**2)**2")
    copy = pickle.loads(pickle.dumps(expression))
    assert copy == expression and copy.variables == ("x", "y")
    assert float(copy.fn(jnp.array([0.5, 0.5]))) == float(expression.fn(jnp.array([0.5, 0.5])))


def test_limits_at_their_boundary():
    at_limit = "x" + "+x" * ((MAX_LENGTH - 1) // 2)
    at_limit += " " * (MAX_LENGTH - len(at_limit))
    assert len(at_limit) == MAX_LENGTH
    summed = parse_expression(at_limit)  # a 1000-term chain: evaluated by a loop
    assert float(summed.fn(jnp.array([2.0]))) == 2.0 * 1000
    assert float(jax.grad(summed.fn)(jnp.array([2.0]))[0]) == 1000.0
    refuse(at_limit + "x", "x", MAX_LENGTH + 1, "at most 2000 characters")
    deepest = "-" * (MAX_DEPTH - 1) + "x"  # 99 signs and the variable: 100 levels
    assert float(parse_expression(deepest).fn(jnp.array([2.0]))) == -2.0
    refuse("-" * MAX_DEPTH + "x", "x", MAX_DEPTH + 1, "nesting deeper than 100")
    assert float(parse_expression("x**1000").fn(jnp.array([1.0]))) == 1.0
    assert float(parse_expression("x**-1000").fn(jnp.array([1.0]))) == 1.0
    refuse("x**-1001", "-1001", 4, "exponent must be at most 1000")
    assert parse_expression("  x").num_params == 1  # leading blanks are ignored


def refuse(text, piece, column, reason):
    """``text`` is refused naming ``piece`` at ``column`` for ``reason``."""
    with pytest.raises(InvalidParameterError) as caught:
        parse_expression(text)
    error = caught.value
    message = str(error)
    assert message.startswith("The 'expression' parameter must be a formula in x and y")
    assert reason in message
    assert isinstance(error.received, ExpressionPiece)
    assert error.received.column == column
    assert f"at column {column} instead." in message
    shown = piece if len(piece) <= 40 else piece[:37] + "..."
    assert error.received.text == shown
    assert repr(shown) in message
    assert_piece_is_at_its_column(text, error.received)


def assert_piece_is_at_its_column(text, received):
    """The piece named is the text found at the column named (or the end of the text)."""
    assert 1 <= received.column <= len(text) + 1
    piece = received.text
    if piece.endswith("...") and len(piece) == 40:
        piece = piece[:37]
    assert text[received.column - 1:].startswith(piece)


HOSTILE = [
    ("__import__('os').system('true')", "__import__('os').system", 1, "attributes"),
    ("x.__class__", "x.__class__", 1, "attributes"),
    ("x + __import__('os')", "__import__", 5, "only the functions"),
    ("os", "os", 1, "names other than the variables"),
    ("x + open('f')", "open", 5, "only the functions"),
    ("sin + x", "sin", 1, "must be called"),
    ("x(1) + y", "x", 1, "a variable cannot be called"),
    ("lambda: 0", "lambda: 0", 1, "lambdas"),
    ("[x for x in ()]", "[x for x in ()]", 1, "comprehensions"),
    ("sum(x for x in y)", "sum", 1, "only the functions"),
    ("max(x for x in y)", "max(x for x in y)", 1, "two or more"),
    ("max(x, (y for y in x))", "(y for y in x)", 8, "comprehensions"),
    ("x[0]", "x[0]", 1, "subscripts"),
    ("max(x, y, key=abs)", "key=abs", 11, "keyword arguments"),
    ("max(*x, y)", "*x", 5, "starred arguments"),
    ("x < y", "x < y", 1, "comparisons"),
    ("x and y", "x and y", 1, "boolean operators"),
    ("x if y else 1", "x if y else 1", 1, "conditional expressions"),
    ("x + 'a'", "'a'", 5, "strings"),
    ("f'{x}'", "f'{x}'", 1, "strings"),
    ("True * x", "True", 1, "booleans"),
    ("2j * x", "2j", 1, "complex numbers"),
    ("None", "None", 1, "the constant None"),
    ("(x, y)", "(x, y)", 1, "tuples"),
    ("(x := 1)", "x := 1", 2, "assignments"),
    ("x // 2", "x // 2", 1, "the operator '//'"),
    ("x % 2", "x % 2", 1, "the operator '%'"),
    ("not x", "not x", 1, "the operator 'not'"),
    ("9**9**9", "9**9", 4, "exponent must be at most 1000"),
    ("x**9**9", "9**9", 4, "exponent must be at most 1000"),
    ("x + 1e999", "1e999", 5, "a number must be finite"),
    ("x*" + "9" * 400, "9" * 400, 3, "a number must be finite"),
    ("10.0**300 * 10.0**300 + x", "10.0**300 * 10.0**300", 1, "must be finite in float64"),
    ("x + exp(1000)", "exp(1000)", 5, "must be finite in float64"),
    ("x + 1/0", "1/0", 5, "this one is inf"),
    ("x + log(0)", "log(0)", 5, "this one is -inf"),
    ("x + sqrt(-1)", "sqrt(-1)", 5, "this one is nan"),
    ("sin(x, y)", "sin(x, y)", 1, "exactly 1 argument"),
    ("min(x)", "min(x)", 1, "two or more"),
    ("x + x1", "x1", 5, "cannot be mixed"),
    ("x0 + x1", "x0", 1, "names other than the variables"),
    ("x01", "x01", 1, "names other than the variables"),
    ("x1001", "x1001", 1, "variables go up to x1000"),
    ("1 + 2", "1 + 2", 1, "no variable"),
    ("", "", 1, "empty"),
    ("   ", "   ", 1, "empty"),
    ("x +", "", 4, "not valid syntax"),
    ("  3x", "3x", 3, "not valid syntax"),
    ("x = 1", "= 1", 3, "not valid syntax"),
    ("x # comment", "#", 3, "printable ASCII"),
    ("x\n+ os", "\n", 2, "printable ASCII"),
    ("x + \u00e9", "\u00e9", 5, "printable ASCII"),
    ("x\x00", "\x00", 2, "printable ASCII"),
    ("x" * 100_000, "x" * 98_000, MAX_LENGTH + 1, "at most 2000 characters"),
    ("-" * 150 + "x", "-" * 50 + "x", 101, "nesting deeper than 100"),
    ("x" + "**x" * 200, "x", 298, "nesting deeper than 100"),  # the 100th power's base
]


@pytest.mark.parametrize(("text", "piece", "column", "reason"), HOSTILE,
                         ids=[h[0][:30] for h in HOSTILE])
def test_hostile_input_is_refused_naming_piece_and_column(text, piece, column, reason):
    refuse(text, piece, column, reason)


def test_deep_parentheses_are_refused_with_a_position():
    text = "(" * 500 + "x" + ")" * 500
    with pytest.raises(InvalidParameterError) as caught:
        parse_expression(text)
    assert "nest" in str(caught.value)  # the parser's "too many nested parentheses"
    assert_piece_is_at_its_column(text, caught.value.received)


def test_a_non_string_is_refused():
    for value in (None, 3, b"x", ["x"]):
        with pytest.raises(InvalidParameterError, match="given as a string"):
            parse_expression(value)


@pytest.mark.parametrize("attack", [
    "__import__('os').system('touch {path}')",
    "open('{path}', 'w')",
    "[__import__('os').system('touch {path}') for _ in (1,)]",
    "x if __import__('os').system('touch {path}') else y",
    "max(x, y, key=__import__('os').system('touch {path}'))",
])
def test_refused_input_has_no_effect(attack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "FILE"
    with pytest.raises(InvalidParameterError):
        parse_expression(attack.format(path=target))
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_never_eval_or_exec_and_compile_only_for_the_syntax_tree(monkeypatch):
    import ast

    def forbidden(*args, **kwargs):
        raise AssertionError("user text must not be evaluated")

    real_compile = builtins.compile

    def parse_only(source, filename, mode, flags=0, *args, **kwargs):
        assert flags & ast.PyCF_ONLY_AST, "compile may only build the syntax tree"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", parse_only)
    expression = parse_expression("sin(x) * max(y, 2) ** 2")
    assert float(expression.fn(jnp.array([0.5, 3.0]))) == pytest.approx(np.sin(0.5) * 9)
    with pytest.raises(InvalidParameterError):
        parse_expression("__import__('os')")


# ---- fuzz ----------------------------------------------------------------------

LEAVES = ["x", "y", "x1", "x2", "x3", "x0", "0", "1", "2", "2.5", "0.0", "1e308", "1e-320",
          "1000", "1001", "-3", "os", "__import__", "True", "'s'", "1j", "[x]", "x.real",
          "9**9"]
FUNCTIONS = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "min", "max",
             "eval", "print", "sum"]
OPERATORS = ["+", "-", "*", "/", "**", "//", "%", "<", " and ", "@", " if x else "]


def _grow(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(OPERATORS), children).map("".join),
        st.tuples(st.sampled_from(["-", "+", "not ", "~", "--"]), children).map("".join),
        children.map(lambda c: f"({c})"),
        st.tuples(st.sampled_from(FUNCTIONS), st.lists(children, min_size=0, max_size=3))
        .map(lambda fa: f"{fa[0]}({', '.join(fa[1])})"),
    )


GRAMMAR = st.recursive(st.sampled_from(LEAVES), _grow, max_leaves=30)


def _grow_valid(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**"]), children)
        .map("".join),
        st.tuples(st.sampled_from(["-", "+"]), children).map("".join),
        children.map(lambda c: f"({c})"),
        st.tuples(st.sampled_from(FUNCTIONS[:8]), children).map(lambda fa: f"{fa[0]}({fa[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(children, min_size=2, max_size=3))
        .map(lambda fa: f"{fa[0]}({', '.join(fa[1])})"),
    )


VALID = st.recursive(st.sampled_from(["x", "y", "0.5", "1", "2", "3", "1e-3"]), _grow_valid,
                     max_leaves=20)
"""Formulas of the whitelist only: refused, if at all, for a value (see VALUE_REASONS)."""
VALUE_REASONS = ("must be finite in float64", "exponent must be at most", "no variable")


@st.composite
def nearly_valid(draw):
    """A grammar expression with up to three characters inserted, deleted or replaced."""
    text = draw(GRAMMAR)
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(text)))
        character = draw(st.sampled_from(list("()+-*/.,x1e_ '[]:=")))
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        if edit == "insert":
            text = text[:position] + character + text[position:]
        elif edit == "delete":
            text = text[:position] + text[position + 1:]
        else:
            text = text[:position] + character + text[position + 1:]
    return text


def check_outcome(text, seed, structurally_valid=False):
    try:
        expression = parse_expression(text)
    except InvalidParameterError as error:
        if structurally_valid:
            assert any(reason in str(error) for reason in VALUE_REASONS), str(error)
        assert str(error).startswith("The 'expression' parameter must be")
        assert "\n" not in str(error)  # one line: the piece is shown by its repr
        assert isinstance(error.received, ExpressionPiece)
        assert_piece_is_at_its_column(text, error.received)
        return
    assert isinstance(expression, Expression) and expression.text == text
    assert 1 <= expression.num_params == len(expression.variables)
    point = np.random.default_rng(seed).normal(size=expression.num_params)
    value = expression.fn(jnp.asarray(point))
    assert value.shape == () and value.dtype == jnp.float64
    float(value)  # finite or not, a number


@settings(max_examples=examples(300), deadline=None)
@given(st.text(), st.integers(0, 2**32 - 1))
def test_fuzz_any_text(text, seed):
    check_outcome(text, seed)


@settings(max_examples=examples(300), deadline=None)
@given(st.one_of(GRAMMAR, nearly_valid()), st.integers(0, 2**32 - 1))
def test_fuzz_grammar(text, seed):
    check_outcome(text, seed)


@settings(max_examples=examples(300), deadline=None)
@given(VALID, st.integers(0, 2**32 - 1))
def test_fuzz_valid_grammar(text, seed):
    check_outcome(text, seed, structurally_valid=True)


def accepted(text):
    try:
        parse_expression(text)
    except InvalidParameterError:
        return False
    return True


@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # of the strategy
def test_the_grammar_strategy_reaches_both_outcomes():
    # the grammar fuzz is worth something only if it builds accepted formulas with calls
    # and operators as well as refused ones
    found = find(GRAMMAR, lambda t: accepted(t) and "(" in t and "*" in t,
                 settings=settings(max_examples=2000, database=None))
    assert parse_expression(found).num_params >= 1
    assert not accepted(find(GRAMMAR, lambda t: not accepted(t) and "(" in t,
                             settings=settings(max_examples=2000, database=None)))
