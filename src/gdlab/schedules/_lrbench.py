r"""The learning-rate policies of LRBench (Wu et al., "Demystifying Learning Rate Policies
for High Accuracy Training of Deep Neural Networks", IEEE BigData 2019), as its code
computes them (``lr/LRfunctions.py`` of github.com/git-disl/LRBench).

:math:`t` is the step, :math:`k_0, k_1` the two bounds, :math:`\gamma` the decay,
:math:`p` a power and :math:`l` the step length (a half cycle for the cyclic ones):

============  ===========================================================================
``FIX``       :math:`k_0`
``STEP``      :math:`k_0\,\gamma^{\lfloor t/l\rfloor}`
``NSTEP``     :math:`k_0\,\gamma^{n(t)}`, :math:`n(t)` = the number of milestones :math:`l_i \le t`
``EXP``       :math:`k_0\,\gamma^{t}`
``INV``       :math:`k_0\,(1+\gamma t)^{-p}`
``POLY``      :math:`(k_1-k_0)(1-t/l)^{p} + k_0`  (from :math:`k_1` at 0 to :math:`k_0` at :math:`l`)
``TRI``       :math:`(k_1-k_0)\,\tfrac{2}{\pi}\,\lvert\arcsin(\sin(\pi t/2l))\rvert + k_0`
``TRI2``      TRI's wave divided by :math:`2^{\lfloor t/2l\rfloor}`
``TRIEXP``    TRI's wave times :math:`\gamma^{t}`
``SIN``       :math:`(k_1-k_0)\,\lvert\sin(\pi t/2l)\rvert + k_0`
``SIN2``      SIN's wave divided by :math:`2^{\lfloor t/2l\rfloor}`
``SINEXP``    SIN's wave times :math:`\gamma^{t}`
``COS``       :math:`(k_1-k_0)\,\tfrac12\big(1+\cos(\pi t/l)\big) + k_0`  (from :math:`k_1` down to :math:`k_0` at :math:`l`, back up at :math:`2l`)
============  ===========================================================================

Where the code and the paper's description disagree, as far as they could be checked
(the paper's table of functions is published as an image and was not machine-readable;
the points below come from the code and from the project's issue tracker):

* ``COS``: LRBench issue #1 reports that the paper's table has :math:`\cos(2\pi t/l)`
  (a cycle of :math:`l`) while the code has :math:`\cos(\pi t/l)` (a cycle of
  :math:`2l`, :math:`l` a half period); the maintainers answered that :math:`l` is the
  half period. gdlab follows the code.
* The paper's general form :math:`|k_0-k_1|\,g(t) + \min(k_0, k_1)` (quoted in issue #2)
  is symmetric in the bounds; the code's :math:`(k_1-k_0)\,g(t) + k_0` is not, and they
  differ when :math:`k_0 > k_1`. gdlab follows the code.
* ``POLY`` ends at :math:`k_0`, not at 0 as in Caffe's ``poly`` (a comment in the code
  says so); pass ``k0=0`` for Caffe's form.
* ``NSTEP`` keeps its position in a counter attached to the function, shared by every
  NSTEP policy and advanced by at most one milestone per call: its value depends on the
  order of calls. gdlab's is a pure function of :math:`t` and equals the code's when
  the code is called once per step from step 0.
* ``TRIEXP`` and ``SINEXP`` decay by :math:`\gamma^{t}` over the whole run, not per cycle.
"""

from __future__ import annotations

import jax.numpy as jnp

from gdlab._validation import InvalidParameterError, check_choice, check_float
from gdlab.schedules._base import Schedule, kind
from gdlab.schedules._decay import check_milestones

POLICIES = ("FIX", "STEP", "NSTEP", "EXP", "INV", "POLY", "TRI", "TRI2", "TRIEXP", "SIN",
            "SIN2", "SINEXP", "COS")

_NEEDS = {
    "FIX": ("k0",), "STEP": ("k0", "gamma", "l"), "NSTEP": ("k0", "gamma", "milestones"),
    "EXP": ("k0", "gamma"), "INV": ("k0", "gamma", "p"), "POLY": ("k0", "k1", "p", "l"),
    "TRI": ("k0", "k1", "l"), "TRI2": ("k0", "k1", "l"), "TRIEXP": ("k0", "k1", "gamma", "l"),
    "SIN": ("k0", "k1", "l"), "SIN2": ("k0", "k1", "l"), "SINEXP": ("k0", "k1", "gamma", "l"),
    "COS": ("k0", "k1", "l"),
}


@kind("lrbench")
def _lrbench(t, policy, k0=0.0, k1=0.0, gamma=1.0, p=1.0, l=1.0, milestones=()):  # noqa: E741
    if policy == "FIX":
        return k0 + 0.0 * t
    if policy == "STEP":
        return k0 * gamma ** jnp.floor(t / l)
    if policy == "NSTEP":
        return k0 * gamma ** sum((t >= m).astype(t.dtype) for m in milestones)
    if policy == "EXP":
        return k0 * gamma**t
    if policy == "INV":
        return k0 * (1.0 + gamma * t) ** (-p)
    if policy == "POLY":
        return (k1 - k0) * (1.0 - t / l) ** p + k0
    if policy == "COS":
        return (k1 - k0) * 0.5 * (1.0 + jnp.cos(jnp.pi * t / l)) + k0
    phase = jnp.pi * t / (2.0 * l)
    wave = (2.0 / jnp.pi) * jnp.abs(jnp.arcsin(jnp.sin(phase))) if policy.startswith("TRI") \
        else jnp.abs(jnp.sin(phase))
    if policy.endswith("2"):
        wave = wave / 2.0 ** jnp.floor(t / (2.0 * l))
    elif policy.endswith("EXP"):
        wave = wave * gamma**t
    return (k1 - k0) * wave + k0


def lrbench(policy: str, **params) -> Schedule:
    """An LRBench policy by name with its parameters (see the module docstring).

    Args:
        policy: one of ``FIX, STEP, NSTEP, EXP, INV, POLY, TRI, TRI2, TRIEXP, SIN, SIN2,
            SINEXP, COS``.
        **params: ``k0``, ``k1``, ``gamma`` (> 0), ``p``, ``l`` (> 0), ``milestones``
            (NSTEP, strictly increasing), as the policy needs.

    Examples:
        >>> tri = lrbench("TRI", k0=0.1, k1=0.5, l=10)
        >>> [round(float(tri(t)), 3) for t in (0, 5, 10, 20)]
        [0.1, 0.3, 0.5, 0.1]
    """
    check_choice("policy", policy, POLICIES)
    needed = _NEEDS[policy]
    for name in params:
        if name not in needed:
            raise InvalidParameterError(name, f"a parameter of {policy}: one of "
                                        f"{{{', '.join(needed)}}}", params[name])
    missing = [name for name in needed if name not in params]
    if missing:
        raise InvalidParameterError(missing[0], f"given for policy {policy}", None)
    values = {}
    for name, value in params.items():
        if name == "milestones":
            values[name] = check_milestones(value)
        elif name in ("gamma", "l"):
            values[name] = check_float(name, value, low=0.0)
        else:
            values[name] = check_float(name, value)
    return Schedule("lrbench", values, (("policy", policy),))
