"""The :class:`Schedule` type: a ``step -> value`` function whose numbers are data.

A schedule is a kind (a registered pure function written with ``jnp`` only), its
numeric parameters and its static structure (flags, the number of boundaries). It is a
JAX pytree whose leaves are the numeric parameters: the engine passes them into the
compiled program as arguments, so running a schedule with new numbers, or a vmapped
grid of them, reuses the same program. Factories validate their arguments when the
schedule is built; inside ``jit`` the numbers are traced and not checked again.

``step`` is the number of updates already done (0 at the first update), the convention
of optax (``count`` before it is incremented) and of PyTorch's schedulers (the value at
"epoch" 0 is used for the first step).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

KINDS: dict[str, Callable] = {}
"""Registered schedule functions by kind: ``fn(t, **params, **static) -> value``."""


def kind(name: str):
    """Register ``fn`` as the schedule kind ``name``."""

    def register(fn):
        KINDS[name] = fn
        return fn

    return register


@jax.tree_util.register_pytree_node_class
class Schedule:
    """A ``step -> value`` function; call it with an int or a traced integer array.

    Attributes:
        kind: the registered function's name.
        params: numeric parameters (floats, arrays or nested schedules): data.
        static: ``(name, value)`` pairs of hashable structure: part of the compiled program.
    """

    __slots__ = ("kind", "params", "static")

    def __init__(self, kind: str, params: dict, static: tuple = ()):
        self.kind = kind
        self.params = dict(params)
        self.static = tuple(static)

    def __call__(self, step):
        t = jnp.asarray(step).astype(_float_dtype())
        return KINDS[self.kind](t, **self.params, **dict(self.static))

    def tree_flatten(self):
        keys = tuple(sorted(self.params))
        return [self.params[k] for k in keys], (self.kind, keys, self.static)

    @classmethod
    def tree_unflatten(cls, aux, children):
        kind_name, keys, static = aux
        return cls(kind_name, dict(zip(keys, children, strict=True)), static)

    def __repr__(self) -> str:
        items = {**self.params, **dict(self.static)}
        text = ", ".join(f"{k}={_short(v)}" for k, v in sorted(items.items()))
        return f"{self.kind}({text})"

    def values(self, num_steps: int):
        """The schedule at steps ``0 .. num_steps-1`` as a NumPy array (for previews)."""
        import numpy as np

        return np.asarray(jax.vmap(self)(jnp.arange(num_steps)))

    def check_horizon(self, num_steps: int) -> None:
        """Raise if the schedule needs more steps than a run of ``num_steps`` has."""
        from gdlab._validation import InvalidParameterError

        warmup = self.params.get("warmup_steps")
        if self.kind == "warmup" and warmup is not None and _is_number(warmup):
            if warmup >= num_steps:
                raise InvalidParameterError(
                    "warmup_steps", f"fewer than the run's num_steps={num_steps}", warmup)
        total = self.params.get("total_steps")
        if self.kind in ONE_CYCLE_KINDS and _is_number(total) and total < num_steps:
            # PyTorch's OneCycleLR raises when stepped past total_steps; past its end the
            # schedule would only repeat its final value, which nobody asks for on purpose
            raise InvalidParameterError(
                "total_steps", f"at least the run's num_steps={num_steps} (one_cycle ends "
                "at total_steps; PyTorch's OneCycleLR also refuses to step past it)", total)
        for child in _children(self):
            child.check_horizon(num_steps)


ONE_CYCLE_KINDS = ("one_cycle", "one_cycle_momentum")
"""Kinds that end at their ``total_steps``: a longer run is refused by ``check_horizon``."""


def _children(schedule: Schedule):
    for value in schedule.params.values():
        if isinstance(value, Schedule):
            yield value
        elif isinstance(value, tuple | list):
            yield from (v for v in value if isinstance(v, Schedule))


def _is_number(value) -> bool:
    import numbers

    return isinstance(value, numbers.Real)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def _float_dtype():
    return jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
