"""The optimizers gdlab knows by name, and :class:`OptimizerSpec`, a named configuration.

An :class:`OptimizerSpec` keeps the factory, its static arguments (strings, booleans,
schedules) and its numeric hyperparameters apart. The engine passes the numeric ones
into the compiled program as data, so running a new learning rate, or a vmapped grid
of them, reuses the same compiled program.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gdlab._validation import (
    InvalidParameterError,
    check_bool,
    check_choice,
    declared_kinds,
)
from gdlab.optimizers import (
    _adafactor,
    _frontier,
    _frontier_moments,
    _lbfgs,
    _loss_aware,
    _lr_free,
    _matrix,
    _schedule_free,
    _sgd,
)
from gdlab.optimizers._adam import ADAM, ADAMW, AMSGRAD, adam, adamw, amsgrad
from gdlab.optimizers._adam_variants import (
    ADABELIEF,
    ADAMAX,
    NADAM,
    RADAM,
    YOGI,
    adabelief,
    adamax,
    nadam,
    radam,
    yogi,
)
from gdlab.optimizers._adaptive import ADADELTA, ADAGRAD, RMSPROP, adadelta, adagrad, rmsprop
from gdlab.optimizers._base import Optimizer
from gdlab.optimizers._info import OptimizerInfo
from gdlab.optimizers._reference import ARMIJO, NEWTON, armijo, newton
from gdlab.optimizers._sgd import momentum, nesterov, sgd
from gdlab.optimizers._sign import LION, SIGN_SGD, SIGNUM, lion, sign_sgd, signum
from gdlab.schedules import Schedule

OPTIMIZERS: dict[str, OptimizerInfo] = {
    "sgd": OptimizerInfo(
        sgd,
        "theta <- theta - lr * g",
        ("learning_rate",),
        reference="Robbins & Monro, A stochastic approximation method, 1951",
        table=_sgd.SGD,
    ),
    "momentum": OptimizerInfo(
        momentum,
        "heavy ball: b <- mu b + g; theta <- theta - lr b (keras: v <- mu v - lr g; theta += v)",
        ("learning_rate", "momentum", "convention"),
        reference="Polyak, Some methods of speeding up the convergence..., 1964",
        table=_sgd.MOMENTUM,
    ),
    "nesterov": OptimizerInfo(
        nesterov,
        "b <- mu b + g; theta <- theta - lr (g + mu b) (keras: theta += mu v - lr g)",
        ("learning_rate", "momentum", "convention"),
        reference="Nesterov 1983; Sutskever et al., ICML 2013",
        table=_sgd.NESTEROV,
    ),
    "adam": OptimizerInfo(
        adam,
        "m, v moments; theta <- theta - lr m_hat / (sqrt(v_hat) + eps) (keras: epsilon hat)",
        ("learning_rate", "b1", "b2", "convention"),
        reference="Kingma & Ba, Adam, ICLR 2015",
        table=ADAM,
    ),
    "adamw": OptimizerInfo(
        adamw,
        "adam + decoupled decay theta <- theta - lr wd theta (default wd by convention)",
        ("learning_rate", "b1", "b2", "convention"),
        reference="Loshchilov & Hutter, Decoupled Weight Decay Regularization, ICLR 2019",
        table=ADAMW,
    ),
    "amsgrad": OptimizerInfo(
        amsgrad,
        "adam with the running max of v (raw v: pytorch/keras; corrected v: optax)",
        ("learning_rate", "b1", "b2", "convention"),
        reference="Reddi, Kale & Kumar, On the Convergence of Adam and Beyond, ICLR 2018",
        table=AMSGRAD,
    ),
    "rmsprop": OptimizerInfo(
        rmsprop,
        "v <- rho v + (1-rho) g^2; theta <- theta - lr g / sqrt(v) (centered, momentum)",
        ("learning_rate", "convention"),
        reference="Hinton, Neural Networks for Machine Learning, lecture 6e, 2012",
        table=RMSPROP,
    ),
    "adagrad": OptimizerInfo(
        adagrad,
        "G <- G + g^2; theta <- theta - lr g / sqrt(G)",
        ("learning_rate", "convention"),
        reference="Duchi, Hazan & Singer, JMLR 2011",
        table=ADAGRAD,
    ),
    "adadelta": OptimizerInfo(
        adadelta,
        "delta = sqrt(u + eps) / sqrt(v + eps) g; theta <- theta - lr delta",
        ("convention",),
        reference="Zeiler, ADADELTA: An Adaptive Learning Rate Method, 2012",
        table=ADADELTA,
    ),

    "adamax": OptimizerInfo(
        adamax, "u <- max(b2 u, |g|); theta <- theta - lr m / ((1 - b1^t) u)",
        ("convention",), reference="Kingma & Ba, Adam, ICLR 2015, section 7.1", table=ADAMAX),
    "nadam": OptimizerInfo(
        nadam, "Adam with Nesterov momentum (momentum schedule: pytorch psi, keras psi=1, optax none)",
        ("convention",),
        reference="Dozat, Incorporating Nesterov Momentum into Adam, ICLR workshop 2016",
        table=NADAM),
    "radam": OptimizerInfo(
        radam, "Adam with the variance rectification r_t once rho_t > 5",
        ("convention",),
        reference="Liu et al., On the Variance of the Adaptive Learning Rate and Beyond, ICLR 2020",
        table=RADAM),
    "adabelief": OptimizerInfo(
        adabelief, "second moment of g - m (the belief); optax form", (),
        reference="Zhuang et al., AdaBelief Optimizer, NeurIPS 2020", table=ADABELIEF),
    "yogi": OptimizerInfo(
        yogi, "v <- v - (1-b2) sign(v - g^2) g^2; optax form", (),
        reference="Zaheer et al., Adaptive Methods for Nonconvex Optimization, NeurIPS 2018",
        table=YOGI),
    "sign_sgd": OptimizerInfo(
        sign_sgd, "theta <- theta - lr sign(g)", (),
        reference="Bernstein et al., signSGD, ICML 2018", table=SIGN_SGD),
    "signum": OptimizerInfo(
        signum, "m <- b m + (1-b) g; theta <- theta - lr sign(m)", (),
        reference="Bernstein et al., signSGD, ICML 2018", table=SIGNUM),
    "lion": OptimizerInfo(
        lion, "theta <- theta - lr (sign(b1 m + (1-b1) g) + wd theta); m <- b2 m + (1-b2) g",
        ("convention",),
        reference="Chen et al., Symbolic Discovery of Optimization Algorithms, NeurIPS 2023",
        table=LION),
    "armijo": OptimizerInfo(
        armijo, "gradient descent, step shrunk until f(theta - a g) <= f - c a |g|^2",
        ("learning_rate",), reference="Armijo 1966; Nocedal & Wright, Algorithm 3.1",
        table=ARMIJO),
    "newton": OptimizerInfo(
        newton, "theta <- theta - lr (H + damping I)^-1 g, exact Hessian",
        ("learning_rate",), reference="Nocedal & Wright, Numerical Optimization, ch. 3",
        table=NEWTON),
}
# The second frontier batch (issue 15): each module declares its own entries.
for _part in (_frontier, _frontier_moments, _lbfgs, _loss_aware, _schedule_free, _lr_free,
              _matrix, _adafactor):
    OPTIMIZERS.update(_part.ENTRIES)


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer by name with its settings, split into data and static structure.

    Attributes:
        name: the registry name.
        hyperparams: numbers and schedules (passed to compiled code as data).
        static: everything else (convention, flags, schedules), as sorted pairs.
    """

    name: str
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    static: tuple[tuple[str, Any], ...] = ()

    @property
    def factory(self) -> Callable[..., Optimizer]:
        return OPTIMIZERS[self.name].factory

    def build(self, **overrides) -> Optimizer:
        """The :class:`Optimizer`, with ``overrides`` (e.g. traced values) replacing settings."""
        return self.factory(**{**dict(self.static), **self.hyperparams, **overrides})

    @property
    def learning_rate(self):
        """The learning rate: a number or a schedule."""
        return {**dict(self.static), **self.hyperparams}["learning_rate"]

    def describe(self) -> str:
        settings = {**self.hyperparams, **dict(self.static)}
        text = ", ".join(f"{k}={_short(v)}" for k, v in sorted(settings.items()))
        return f"{self.name}({text})"


CONVENTION_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {}
"""The defaults each factory picks by convention (shown by ``gdlab list optimizers``;
``tests/test_optimizers.py`` checks that they are the factories' own). Optimizers with a
declared table (:mod:`gdlab.optimizers._hyper`) take theirs from it, below."""
for _name, _info in OPTIMIZERS.items():
    if _info.table is not None:
        CONVENTION_DEFAULTS.pop(_name, None)
        if _info.convention_defaults:
            CONVENTION_DEFAULTS[_name] = dict(_info.convention_defaults)


def _short(value) -> str:
    if isinstance(value, Schedule):
        return repr(value)
    if callable(value):
        return getattr(value, "__name__", "schedule")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def optimizer(name: str, **settings) -> OptimizerSpec:
    """Look up an optimizer by name and fix its settings.

    Unset settings take the registry defaults. Every value is validated now, before
    anything is compiled.

    Args:
        name: a key of :data:`OPTIMIZERS` (``gdlab list`` shows them).
        **settings: the factory's keyword arguments.

    Returns:
        An :class:`OptimizerSpec`.

    Raises:
        InvalidParameterError: unknown name, unknown setting, or a value out of range.

    Examples:
        >>> optimizer("momentum", learning_rate=0.1, momentum=0.5).describe()
        'momentum(convention=pytorch, learning_rate=0.1, momentum=0.5)'
    """
    check_choice("optimizer", name, OPTIMIZERS)
    info = OPTIMIZERS[name]
    import inspect

    accepted = inspect.signature(info.factory).parameters
    for key in settings:
        if key not in accepted:
            raise InvalidParameterError(
                key,
                f"a setting of optimizer '{name}', one of {{{', '.join(map(repr, accepted))}}}",
                key,
            )
    settings = check_declared_types(name, settings)
    merged = {**info.defaults, **settings}
    # numbers and Schedules are data (traced, swept without recompiling); the rest is static,
    # and so are the settings declared int (counts such as armijo's max_backtracks): a
    # count is structure, and converting it to a float for tracing broke its int check
    kinds = setting_kinds(name)
    numeric = {
        k: (v if isinstance(v, Schedule) else float(v))
        for k, v in merged.items()
        if (isinstance(v, Schedule) or (isinstance(v, numbers.Real) and not isinstance(v, bool)))
        and kinds.get(k, (None, True))[0] != "int"
    }
    static = tuple(sorted((k, v) for k, v in merged.items() if k not in numeric))
    spec = OptimizerSpec(name, numeric, static)
    spec.build()  # validates every value with the factory's own checks
    return spec


def setting_kinds(name: str) -> dict[str, tuple[str | None, bool]]:
    """The declared kind of each setting of optimizer ``name`` and whether it may be None.

    Read from the factory's annotations (see :func:`gdlab._validation.declared_kinds`):
    ``{"nesterov": ("bool", False), "momentum": ("float", False), ...}``. The command
    line converts ``--set`` text by it; :func:`optimizer` checks values by it.
    """
    check_choice("optimizer", name, OPTIMIZERS)
    return declared_kinds(OPTIMIZERS[name].factory)


def check_declared_types(name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check each setting against the type its factory declares; return them normalised.

    The factories check ranges, but a value of the wrong type used to slip past them:
    ``nesterov=0`` is a number, so it was passed to the compiled program as data and
    failed there (a ``TracerBoolConversionError``), and ``momentum="0.9"`` is no
    concrete number, so its range was never checked. Flags must be bools (NumPy's
    included), integers ints, strings strings, and the numeric settings numbers, arrays
    or schedules, never text or (unless declared optional) None.
    """
    kinds = setting_kinds(name)
    checked = dict(settings)
    for key, value in settings.items():
        kind, optional = kinds.get(key, (None, True))
        if value is None and optional:
            continue
        if kind == "bool":
            checked[key] = check_bool(key, value, optional)
        elif kind == "int":  # the range is the factory's to check
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise InvalidParameterError(key, "an int", value)
        elif kind == "str":
            if not isinstance(value, str):
                conventions = OPTIMIZERS[name].conventions
                allowed = (f"one of {{{', '.join(map(repr, conventions))}}}"
                           if key == "convention" and conventions else "a string")
                raise InvalidParameterError(key, allowed, value)
        elif kind == "float" and (value is None or isinstance(value, str | bytes)):
            raise InvalidParameterError(key, "a number, an array or a schedule",
                                        value)
    return checked
