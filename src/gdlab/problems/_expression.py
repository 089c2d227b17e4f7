r"""User expressions: a formula typed as text, compiled to a pure JAX function.

``parse_expression("(1 - x)**2 + 100*(y - x**2)**2")`` reads the text with Python's
:mod:`ast` (``mode="eval"``: parsing only, nothing is run) and walks the tree through a
whitelist, building the function from the nodes itself; user text is never passed to
``eval``, ``exec`` or ``compile`` for execution.

**What is allowed**

- numbers: ``int`` and ``float`` literals (``2``, ``0.5``, ``1e-3``); no complex numbers,
  strings or booleans;
- variables, of one family per expression (never mixed):

  * ``x`` and ``y``: the parameters are ``(x,)`` when only ``x`` appears, else
    ``(x, y)``, so ``y`` is always the second coordinate;
  * ``x1``, ``x2``, ..., ``xn`` (``n`` at most :data:`MAX_VARIABLES`, no leading zero,
    no ``x0``): the parameters are ``(x1, ..., xn)`` with ``n`` the largest index used;
    an index that does not appear is a parameter the function does not depend on;
- binary ``+ - * / **``, unary ``-`` and ``+``, parentheses;
- calls of ``sin cos tan exp log sqrt abs tanh`` (one argument) and ``min max`` (two or
  more), without keyword or starred arguments.

**Limits** (so that no text can exhaust the machine or the interpreter's stack)

- at most :data:`MAX_LENGTH` (2,000) characters, printable ASCII and tabs only, on one
  line, without ``#`` or ``\``; leading blanks are ignored;
- nesting at most :data:`MAX_DEPTH` (100) levels: each unary sign, call and operand
  counts one level, except that a left-to-right chain such as ``x1 + x2 + ... + x500``
  counts as one level (it is evaluated by a loop, not by recursion);
- a constant exponent (a number, or any part without variables) is at most
  :data:`MAX_EXPONENT` (1000) in absolute value: ``9**9**9`` and ``x**5000`` are
  refused, since beyond 1000 every base outside ``(0.5, 2)`` overflows or underflows
  float64 anyway;
- every part without variables is folded to one float64 number when parsed, and must be
  finite: ``1e999``, ``10.0**300 * 10.0**300``, ``exp(1000)``, ``1/0``, ``log(0)`` and
  ``sqrt(-1)`` are refused. Parts with variables are computed at run time, where a
  non-finite value is the data of a diverged run, never an error.

Anything else is refused with :class:`~gdlab._validation.InvalidParameterError` for the
parameter ``'expression'``, whose message says what is allowed, why this piece is not,
and the piece with its column (1-based, counted in characters of the text as given);
the error's ``received`` is an :class:`ExpressionPiece` with ``text`` and ``column``.
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce

import jax.numpy as jnp
import numpy as np
from jax import lax

from gdlab._validation import InvalidParameterError

MAX_LENGTH = 2000
"""The most characters an expression may have."""

MAX_DEPTH = 100
"""The deepest nesting accepted (a left-to-right chain of binary operators is one level)."""

MAX_EXPONENT = 1000
"""The largest constant exponent, in absolute value."""

MAX_VARIABLES = 1000
"""The largest ``n`` of a variable ``xn``: the length of the parameter vector it implies."""

# name -> (number of arguments, None for two or more; NumPy form for folding constants;
# jnp form for the compiled function). NumPy and jnp share IEEE semantics (nan for
# log(-1)), so a folded part has the value the compiled function would compute.
_FUNCTIONS: dict[str, tuple[int | None, Callable, Callable]] = {
    "sin": (1, np.sin, jnp.sin),
    "cos": (1, np.cos, jnp.cos),
    "tan": (1, np.tan, jnp.tan),
    "exp": (1, np.exp, jnp.exp),
    "log": (1, np.log, jnp.log),
    "sqrt": (1, np.sqrt, jnp.sqrt),
    "abs": (1, np.abs, jnp.abs),
    "tanh": (1, np.tanh, jnp.tanh),
    "min": (None, np.minimum, jnp.minimum),
    "max": (None, np.maximum, jnp.maximum),
}

_BINARY = {
    ast.Add: (np.add, jnp.add),
    ast.Sub: (np.subtract, jnp.subtract),
    ast.Mult: (np.multiply, jnp.multiply),
    ast.Div: (np.true_divide, jnp.true_divide),
    ast.Pow: (np.power, jnp.power),
}
_REFUSED_OPERATORS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~",
}
_REFUSED_NODES = {
    ast.Attribute: "attributes", ast.Subscript: "subscripts", ast.Slice: "slices",
    ast.Lambda: "lambdas", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons", ast.BoolOp: "boolean operators (and, or)",
    ast.IfExp: "conditional expressions", ast.Starred: "starred arguments",
    ast.NamedExpr: "assignments", ast.JoinedStr: "strings", ast.List: "lists",
    ast.Tuple: "tuples", ast.Set: "sets", ast.Dict: "dicts", ast.Await: "await",
}

ALLOWED = ("a formula in x and y (or x1, x2, ...) made of numbers, + - * / **, "
           "parentheses and the functions " + ", ".join(_FUNCTIONS))

_INDEXED = re.compile(r"x([1-9][0-9]*)", re.ASCII)
_CHARACTER = re.compile(r"[^\x20-\x7e\t]|[#\\]")  # outside printable ASCII, or # and \


@dataclass(frozen=True)
class ExpressionPiece:
    """The part of an expression that was refused, and where it starts (1-based column)."""

    text: str
    column: int

    def __repr__(self) -> str:
        return f"{self.text!r} at column {self.column}"


def _refuse(reason: str, piece: str, column: int) -> InvalidParameterError:
    if len(piece) > 40:  # the message stays one readable line
        piece = piece[:37] + "..."
    return InvalidParameterError("expression", f"{ALLOWED}; {reason}",
                                 ExpressionPiece(piece, column))


# A compiled node is a float (a folded constant) or a function of the parameter vector.
_Node = float | Callable


class _Compiler:
    """One walk over the tree of one expression; remembers the variables it met."""

    def __init__(self, source: str, lead: int):
        self.source = source  # the text without its leading blanks, as parsed
        self.lead = lead
        self.family: str | None = None  # "xy" or "indexed", set by the first variable
        self.count = 0  # the parameter vector's length implied so far

    def refuse(self, node: ast.AST, reason: str) -> InvalidParameterError:
        piece = ast.get_source_segment(self.source, node) or type(node).__name__
        return _refuse(reason, piece, self.lead + node.col_offset + 1)

    def compile(self, node: ast.AST, depth: int) -> _Node:
        if depth > MAX_DEPTH:
            raise self.refuse(node, f"nesting deeper than {MAX_DEPTH} levels is not allowed")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.variable(node)
        if isinstance(node, ast.BinOp):
            return self.chain(node, depth)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        kind = _REFUSED_NODES.get(type(node), f"{type(node).__name__} nodes")
        raise self.refuse(node, f"{kind} are not allowed")

    def constant(self, node: ast.Constant) -> float:
        value = node.value
        if type(value) is bool:
            raise self.refuse(node, "booleans are not allowed")
        if type(value) is str or type(value) is bytes:
            raise self.refuse(node, "strings are not allowed")
        if type(value) is complex:
            raise self.refuse(node, "complex numbers are not allowed")
        if type(value) not in (int, float):
            raise self.refuse(node, f"the constant {value!r} is not allowed")
        try:
            number = float(value)
        except OverflowError:  # an int literal beyond float64's range
            number = math.inf
        if not math.isfinite(number):
            raise self.refuse(node, "a number must be finite in float64")
        return number

    def variable(self, node: ast.Name) -> Callable:
        name = node.id
        if name in _FUNCTIONS:
            raise self.refuse(node, f"the function {name} must be called, e.g. {name}(x)")
        match = _INDEXED.fullmatch(name)
        if name in ("x", "y"):
            family, index = "xy", "xy".index(name)
        elif match:
            family, index = "indexed", int(match.group(1)) - 1
            if index >= MAX_VARIABLES:
                raise self.refuse(node, f"variables go up to x{MAX_VARIABLES}")
        else:
            raise self.refuse(node, "names other than the variables x, y or x1, x2, x3 "
                                    "(and so on) and the functions are not allowed")
        if self.family is not None and family != self.family:
            raise self.refuse(node, "the variables x, y and the variables x1, x2, x3 "
                                    "(and so on) cannot be mixed")
        self.family = family
        self.count = max(self.count, index + 1)
        return lambda params: params[index]

    def fold(self, node: ast.AST, function: Callable, *values: float) -> float:
        with np.errstate(all="ignore"):  # overflow is detected below, not warned about
            value = float(function(*(np.float64(v) for v in values)))
        if not math.isfinite(value):
            raise self.refuse(node, "a part without variables must be finite in float64; "
                                    f"this one is {value}")
        return value

    def unary(self, node: ast.UnaryOp, depth: int) -> _Node:
        if isinstance(node.op, ast.UAdd):
            return self.compile(node.operand, depth + 1)
        if not isinstance(node.op, ast.USub):
            symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
            raise self.refuse(node, f"the operator '{symbol}' is not allowed")
        operand = self.compile(node.operand, depth + 1)
        if not callable(operand):
            return -operand
        return lambda params: jnp.negative(operand(params))

    def chain(self, node: ast.BinOp, depth: int) -> _Node:
        # ((a + b) - c) * d ...: the left spine is walked by a loop, so that a long sum
        # of terms neither counts as deep nesting nor recurses when evaluated.
        spine = []
        while isinstance(node, ast.BinOp):
            spine.append(node)
            node = node.left
        head = self.compile(node, depth + 1)
        steps: list[Callable] = []  # once the head is a function: (value, params) -> value
        for binop in reversed(spine):
            if type(binop.op) not in _BINARY:
                symbol = _REFUSED_OPERATORS.get(type(binop.op), type(binop.op).__name__)
                raise self.refuse(binop, f"the operator '{symbol}' is not allowed")
            folding, traced = _BINARY[type(binop.op)]
            right = self.compile(binop.right, depth + 1)
            is_pow = isinstance(binop.op, ast.Pow)
            if is_pow and not callable(right) and abs(right) > MAX_EXPONENT:
                raise self.refuse(binop.right, "a constant exponent must be at most "
                                               f"{MAX_EXPONENT} in absolute value")
            if not steps and not callable(head) and not callable(right):
                head = self.fold(binop, folding, head, right)
            else:
                steps.append(_step(traced, right, is_pow))
        if not steps:
            return head
        if callable(head):
            start = head
        else:
            def start(params, value=head):
                return value

        def evaluate(params):
            value = start(params)
            for step in steps:
                value = step(value, params)
            return value

        return evaluate

    def call(self, node: ast.Call, depth: int) -> _Node:
        if not isinstance(node.func, ast.Name):
            raise self.callee_refusal(node.func)
        name = node.func.id
        if name not in _FUNCTIONS:
            raise self.callee_refusal(node.func)
        if node.keywords:
            raise self.refuse(node.keywords[0], "keyword arguments are not allowed")
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                raise self.refuse(argument, "starred arguments are not allowed")
        arity, folding, traced = _FUNCTIONS[name]
        if arity is None and len(node.args) < 2:
            raise self.refuse(node, f"{name} takes two or more arguments")
        if arity is not None and len(node.args) != arity:
            raise self.refuse(node, f"{name} takes exactly {arity} argument")
        arguments = [self.compile(argument, depth + 1) for argument in node.args]
        if not any(callable(a) for a in arguments):
            # reduce would return a lone argument untouched: a unary function is applied
            combined = folding if arity == 1 else (lambda *v: reduce(folding, v))
            return self.fold(node, combined, *arguments)
        parts = [a if callable(a) else (lambda params, c=a: c) for a in arguments]
        if arity == 1:
            (inner,) = parts
            return lambda params: traced(inner(params))
        return lambda params: reduce(traced, [part(params) for part in parts])

    def callee_refusal(self, func: ast.AST) -> InvalidParameterError:
        if isinstance(func, ast.Attribute):
            return self.refuse(func, "attributes are not allowed")
        if isinstance(func, ast.Name) and (func.id in ("x", "y") or _INDEXED.fullmatch(func.id)):
            return self.refuse(func, "a variable cannot be called")
        return self.refuse(func, "only the functions " + ", ".join(_FUNCTIONS)
                           + " can be called")


def _step(traced: Callable, right: _Node, is_pow: bool) -> Callable:
    """One link of a chain: ``value -> value <op> right``."""
    if callable(right):
        return lambda value, params: traced(value, right(params))
    if is_pow and float(right).is_integer():
        # x**2 as repeated multiplication: exact, and defined for a negative x, whose
        # float power (exp(2 log x)) would be nan in the derivative's chain
        exponent = int(right)
        return lambda value, params: lax.integer_pow(jnp.asarray(value), exponent)
    return lambda value, params: traced(value, right)


def _compile(text) -> tuple[tuple[str, ...], Callable]:
    if not isinstance(text, str):
        raise InvalidParameterError("expression", ALLOWED + ", given as a string", text)
    if len(text) > MAX_LENGTH:
        raise _refuse(f"at most {MAX_LENGTH} characters are allowed (this one has "
                      f"{len(text)})", text[MAX_LENGTH:], MAX_LENGTH + 1)
    bad = _CHARACTER.search(text)
    if bad:
        raise _refuse("only printable ASCII characters on one line, without # and \\, "
                      "are allowed", bad.group(), bad.start() + 1)
    source = text.lstrip(" \t")
    lead = len(text) - len(source)
    if not source.strip():
        raise _refuse("it is empty", text, 1)
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal": refused below
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        offset = error.offset or 0
        if offset < 1 or offset > len(source):  # the parser reached the end
            piece, column = "", len(text) + 1
        else:
            piece, column = source[offset - 1:], lead + offset
        raise _refuse(f"it is not valid syntax ({error.msg})", piece, column) from None
    except (RecursionError, MemoryError):  # the parser's own stack, before our limit
        raise _refuse(f"nesting deeper than {MAX_DEPTH} levels is not allowed",
                      text, 1) from None
    compiler = _Compiler(source, lead)
    evaluate = compiler.compile(tree.body, 1)
    if compiler.family is None:
        raise _refuse("it has no variable (a constant has nothing to minimize)", text, 1)
    names = ("x", "y") if compiler.family == "xy" else tuple(
        f"x{i}" for i in range(1, compiler.count + 1))
    return names[:compiler.count], evaluate


@dataclass(frozen=True)
class Expression:
    """A user formula compiled to a pure JAX function of one flat parameter vector.

    Build one with :func:`parse_expression` (or ``Expression(text)``). Two expressions
    with the same text are equal and hash alike, so an expression can be a static
    argument of a compiled function without recompiling for the same text; pickling
    keeps only the text and parses it again.

    Attributes:
        text: the formula as given.
        variables: the parameters' names in the vector's order, e.g. ``("x", "y")``.
        num_params: the parameter vector's length, ``len(variables)``.
    """

    text: str
    variables: tuple[str, ...] = field(init=False)
    num_params: int = field(init=False)
    _evaluate: Callable = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        variables, evaluate = _compile(self.text)
        object.__setattr__(self, "variables", variables)
        object.__setattr__(self, "num_params", len(variables))
        object.__setattr__(self, "_evaluate", evaluate)

    def __reduce__(self):
        return (parse_expression, (self.text,))

    def fn(self, params):
        """The formula's value at ``params``, a 1-D array of length :attr:`num_params`.

        Pure ``jnp``: works under ``jax.jit``, ``jax.grad`` and ``jax.vmap``, in the
        parameters' floating dtype (integer parameters are read as floats).
        """
        params = jnp.asarray(params)
        if params.ndim != 1 or params.shape[0] != self.num_params:
            raise InvalidParameterError(
                "params", f"a 1-D array of length {self.num_params} "
                f"({', '.join(self.variables)})", f"an array of shape {params.shape}")
        if not jnp.issubdtype(params.dtype, jnp.inexact):
            params = params.astype(jnp.result_type(float))
        return jnp.asarray(self._evaluate(params))


def parse_expression(text: str) -> Expression:
    """Read a formula such as ``"x**2 + 10*y**2"`` into an :class:`Expression`.

    The grammar, the limits and the refusals are listed in this module's docstring.

    Args:
        text: the formula, in x and y or in x1, x2, ..., xn.

    Returns:
        The compiled expression; ``fn(params)`` gives its value.

    Raises:
        InvalidParameterError: the text is not such a formula; the message names the
            offending piece and its column.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> rosen = parse_expression("(1 - x)**2 + 100*(y - x**2)**2")
        >>> rosen.variables, rosen.num_params
        (('x', 'y'), 2)
        >>> float(rosen.fn(jnp.array([1.0, 1.0])))
        0.0
        >>> [float(g) for g in jax.grad(rosen.fn)(jnp.array([0.0, 0.0]))]
        [-2.0, 0.0]
        >>> parse_expression("sin(x1) + x3").variables
        ('x1', 'x2', 'x3')
        >>> parse_expression("x.__class__")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        gdlab._validation.InvalidParameterError: The 'expression' parameter must be ...; \
attributes are not allowed. Got 'x.__class__' at column 1 instead.
    """
    return Expression(text)
