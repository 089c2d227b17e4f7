"""The optimizer contract: ``Optimizer(init, update)``, a pair of pure functions.

``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``; the
new parameters are ``params + updates``. State is a NamedTuple ``<Name>State`` with an
int32 ``count`` (the number of updates done) and fields named after the symbols of the
optimizer's equations.

Hyperparameters are data. A factory accepts Python floats, JAX arrays (possibly traced,
so a vmapped grid of values compiles once) or, for ``learning_rate``, a schedule
``step -> value`` evaluated at ``count`` (0 at the first update, optax's convention).
Python branches only on static structure (``nesterov``, ``convention``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp

from gdlab._validation import check_float

Schedule = Callable[[Any], Any]
ScalarOrSchedule = float | Any | Schedule


class Optimizer(NamedTuple):
    """A gradient transformation: ``init(params) -> state``, ``update(g, state, params)``."""

    init: Callable
    update: Callable


def is_concrete_number(value) -> bool:
    """True for Python/NumPy numbers, which can be validated before compiling."""
    import numbers

    import numpy as np

    return isinstance(value, numbers.Number) or (
        isinstance(value, np.ndarray) and value.ndim == 0
    )


def check_hyperparameter(name: str, value, low: float, high: float, closed: str):
    """Validate ``value`` if it is a concrete number; traced arrays and schedules pass.

    Values inside ``jit`` or ``vmap`` cannot be inspected without a host round trip;
    the engine's public entry points validate every value before tracing.
    """
    if callable(value) or not is_concrete_number(value):
        return value
    return check_float(name, value, low=low, high=high, closed=closed)


def value_at(value: ScalarOrSchedule, count):
    """The value of a hyperparameter at update number ``count`` (schedules are called)."""
    return value(count) if callable(value) else value


_INT32_MAX = 2**31 - 1


def next_count(count):
    """``count + 1``, saturating at the int32 maximum (optax's ``safe_increment``).

    Optimizers whose formulas use :math:`t = \\text{count} + 1` compute it here once and
    store the same value as the new ``count``. Besides not wrapping around after
    :math:`2^{31}-1` updates, the saturating form keeps XLA (jax 0.10.2) from duplicating the
    increment into every fusion that reads :math:`t`; a plain ``count + 1`` is
    duplicated, the loop then needs an extra ``copy`` of the old counter, and on CPU a
    scan body of more than 8 kernels runs on the thread pool instead of inline
    (see docs/benchmarks.md, "Optimizers").
    """
    return jnp.where(count < _INT32_MAX, count + 1, _INT32_MAX)
