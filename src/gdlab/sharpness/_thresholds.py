r"""What the sharpness is held to: each optimizer's stability threshold, and Adam's
preconditioner.

A method is stable on the quadratic model of the loss when the relevant sharpness stays
below its threshold: :math:`\lambda_{\max}(H) < 2/\eta` for gradient descent,
larger for momentum, and for Adam the *preconditioned* sharpness
:math:`\lambda_{\max}(P^{-1}H)` against :math:`(2+2\beta_1)/((1-\beta_1)\eta)`, with
:math:`P` the diagonal preconditioner of :func:`adam_preconditioner`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from gdlab._validation import InvalidParameterError, check_choice, check_float
from gdlab.optimizers import OptimizerSpec
from gdlab.optimizers import optimizer as make_spec


def adam_preconditioner(v, count, *, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                        eps_root: float = 0.0, convention: str = "pytorch") -> np.ndarray:
    r"""The diagonal :math:`p` of Adam's preconditioner after ``count`` updates.

    Cohen et al. (2022, section 2) write Adam as preconditioned momentum,
    :math:`\theta_{t} = \theta_{t-1} - \eta P_t^{-1} m_t`, with the first moment's
    bias correction folded into :math:`P` and :math:`\epsilon` added outside the root:

    .. math::

        P_t = (1-\beta_1^t)\,\Big[\mathrm{diag}\Big(\sqrt{v_t/(1-\beta_2^t)}\Big)
        + \epsilon I\Big]

    (:math:`t` counts updates from 1; the paper counts from 0 and writes
    :math:`t+1`). This is exactly the step gdlab's Adam takes in the ``"pytorch"`` and
    ``"optax"`` conventions (optax's :math:`\epsilon_{\text{root}}` goes inside the
    root, :math:`\sqrt{\hat v_t + \epsilon_{\text{root}}}`); in the ``"keras"``
    convention the step is :math:`\gamma\sqrt{1-\beta_2^t}/(1-\beta_1^t)\,m_t/(\sqrt{v_t}
    + \hat\epsilon)`, so :math:`P_t = (1-\beta_1^t)(\sqrt{\hat v_t} +
    \hat\epsilon/\sqrt{1-\beta_2^t})`. Evaluated on a run's record after update
    :math:`t`, :math:`P_t` is the preconditioner of that update; the next one differs by
    one more gradient in :math:`v` (a relative change of order :math:`1-\beta_2`).

    Args:
        v: the second moment :math:`v_t` (Adam's state ``v``), shape ``(d,)`` or
            ``(T, d)``.
        count: :math:`t \ge 1`, an int or one per row of ``v``.
        b1, b2: :math:`\beta_1, \beta_2 \in [0, 1)`.
        eps: :math:`\epsilon > 0` (Keras: :math:`\hat\epsilon`).
        eps_root: optax's :math:`\epsilon_{\text{root}} \ge 0`.
        convention: ``"pytorch"``, ``"optax"`` or ``"keras"``, as the run's Adam.

    Returns:
        :math:`p`, the shape of ``v``.

    Examples:
        >>> import numpy as np
        >>> p = adam_preconditioner(np.array([0.04]), 1, b1=0.9, b2=0.999, eps=0.0)
        >>> round(float(p[0]), 12)  # (1 - 0.9) * sqrt(0.04 / 0.001)
        0.632455532034
    """
    convention = check_choice("convention", convention, ("pytorch", "optax", "keras"))
    b1 = check_float("b1", b1, low=0.0, high=1.0, closed="left")
    b2 = check_float("b2", b2, low=0.0, high=1.0, closed="left")
    eps = check_float("eps", eps, low=0.0, closed="left")
    eps_root = check_float("eps_root", eps_root, low=0.0, closed="left")
    v = np.asarray(v, dtype=np.float64)
    t = np.asarray(count, dtype=np.float64)
    if np.any(t < 1) or np.any(t != np.round(t)):
        raise InvalidParameterError("count", "integers >= 1 (updates taken)", count)
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise InvalidParameterError("v", "finite values >= 0 (a second moment)",
                                    f"min {np.min(v)}")
    if t.ndim == 1:
        t = t[:, None]
    correction1, correction2 = 1.0 - b1**t, 1.0 - b2**t
    if convention == "keras":
        return correction1 * (np.sqrt(v / correction2) + eps / np.sqrt(correction2))
    return correction1 * (np.sqrt(v / correction2 + eps_root) + eps)


class Threshold(NamedTuple):
    """The value a (preconditioned) sharpness must stay below for stability.

    Attributes:
        value: the threshold.
        formula: how it reads, e.g. ``"2/η"`` or ``"(2+2β₁)/((1−β₁)η)"``.
        preconditioned: whether it bounds :math:`\\lambda_{\\max}(P^{-1}H)` (Adam) rather
            than :math:`\\lambda_{\\max}(H)`.
    """

    value: float
    formula: str
    preconditioned: bool


THRESHOLD_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
"""The optimizers :func:`stability_threshold` knows."""


def stability_threshold(optimizer) -> Threshold:
    r"""The stability threshold of the sharpness for a fixed-rate optimizer.

    On a quadratic with Hessian eigenvalue :math:`\lambda` each method is a linear
    recurrence, stable iff its iteration matrix has spectral radius below 1; the edge
    is where an eigenvalue of that matrix reaches :math:`-1`:

    - gradient descent, :math:`\theta \leftarrow \theta - \eta g`: :math:`|1-\eta\lambda|
      < 1`, so :math:`\lambda < 2/\eta`;
    - heavy ball (gdlab's ``momentum``, buffer :math:`b \leftarrow \mu b + (1-\tau) g`,
      step :math:`-\eta b`): :math:`\lambda < (2+2\mu)/((1-\tau)\eta)`;
    - Nesterov (``g + μ b``): :math:`\lambda < (2+2\mu)/((1+2\mu)\eta)`;
    - Adam, with its preconditioner :math:`P` frozen: momentum with dampening
      :math:`1-\beta_1` on :math:`P^{-1}H`, so :math:`\lambda_{\max}(P^{-1}H) <
      (2+2\beta_1)/((1-\beta_1)\eta)` (:math:`38/\eta` at :math:`\beta_1 = 0.9`;
      Cohen et al. 2022).

    Args:
        optimizer: an :class:`~gdlab.OptimizerSpec` (or a registry name) of one of
            :data:`THRESHOLD_OPTIMIZERS`, with a constant learning rate and momentum.

    Returns:
        A :class:`Threshold`.

    Examples:
        >>> import gdlab
        >>> stability_threshold(gdlab.optimizer("sgd", learning_rate=0.1)).value
        20.0
        >>> round(stability_threshold(gdlab.optimizer("adam", learning_rate=0.01)).value, 6)
        3800.0
    """
    spec = make_spec(optimizer) if isinstance(optimizer, str) else optimizer
    if not isinstance(spec, OptimizerSpec) or spec.name not in THRESHOLD_OPTIMIZERS:
        raise InvalidParameterError("optimizer", "an OptimizerSpec of one of "
                                    f"{THRESHOLD_OPTIMIZERS}", getattr(spec, "name", spec))
    settings = {**dict(spec.static), **spec.hyperparams}
    eta = _constant("learning_rate", settings.get("learning_rate", 0.01))
    if spec.name == "sgd":
        return Threshold(2.0 / eta, "2/η", False)
    if spec.name == "adam":
        if settings.get("amsgrad") or settings.get("decoupled") or \
                settings.get("weight_decay", 0.0):
            raise InvalidParameterError("optimizer", "Adam without AMSGrad or weight decay "
                                        "(the threshold is derived for plain Adam)",
                                        spec.describe())
        b1 = _constant("b1", settings.get("b1", 0.9))
        return Threshold((2.0 + 2.0 * b1) / ((1.0 - b1) * eta), "(2+2β₁)/((1−β₁)η)", True)
    mu = _constant("momentum", settings.get("momentum", 0.9))
    if spec.name == "nesterov" or settings.get("nesterov"):
        return Threshold((2.0 + 2.0 * mu) / ((1.0 + 2.0 * mu) * eta), "(2+2μ)/((1+2μ)η)",
                         False)
    tau = _constant("dampening", settings.get("dampening", 0.0))
    if tau:
        return Threshold((2.0 + 2.0 * mu) / ((1.0 - tau) * eta), "(2+2μ)/((1−τ)η)", False)
    return Threshold((2.0 + 2.0 * mu) / eta, "(2+2μ)/η", False)


def _constant(name, value) -> float:
    if callable(value) or not isinstance(value, int | float | np.floating | np.integer):
        raise InvalidParameterError(name, "a constant number (a threshold needs a fixed "
                                    "value)", value)
    number = float(value)
    if not math.isfinite(number):
        raise InvalidParameterError(name, "a finite number", value)
    return number
