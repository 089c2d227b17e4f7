r"""What an optimizer's state says along a run: effective learning rates and momentum.

An adaptive method divides each coordinate's step by a running statistic of that
coordinate's gradients, so each coordinate has its own **effective learning rate**
:math:`\eta_{t,i}`: the factor the update applies to its (first-moment) direction,

.. math::

    \theta_{t,i} = \theta_{t-1,i} - \eta_{t,i}\, d_{t,i},

with :math:`d_t = \hat m_t = m_t/(1-\beta_1^t)` for the Adam family (NAdam: its Nesterov
mix of :math:`m_t` and :math:`g_t`) and :math:`d_t = g_t` for RMSProp (before its
momentum buffer), Adagrad and Adadelta. The forms below are gdlab's optimizers' own (see
their modules), with :math:`\gamma_t` the learning rate of update :math:`t` and
:math:`\hat v_t = v_t/(1-\beta_2^t)`:

============================  ==============================================================
Adam, AdamW (PyTorch)          :math:`\gamma_t/(\sqrt{\hat v_t} + \epsilon)`
Adam, AdamW (optax)            :math:`\gamma_t/(\sqrt{\hat v_t + \epsilon_{root}} + \epsilon)`
Adam, AdamW (Keras)            :math:`\gamma_t/(\sqrt{\hat v_t} + \hat\epsilon/\sqrt{1-\beta_2^t})`
AMSGrad                        as Adam with :math:`v_t` replaced by its running maximum
                               (PyTorch, Keras: of the raw :math:`v`; optax: of :math:`\hat v`)
NAdam                          :math:`\gamma_t/(\sqrt{\hat v_t} + \epsilon)`
RAdam                          :math:`\gamma_t r_t/(\sqrt{\hat v_t} + \epsilon)` once the
                               variance is tractable (PyTorch: :math:`\epsilon/\sqrt{1-\beta_2^t}`
                               in place of :math:`\epsilon`), else :math:`\gamma_t`
Adamax                         :math:`\gamma_t/u_t` (Keras :math:`\gamma_t/(u_t+\epsilon)`)
AdaBelief, Yogi                :math:`\gamma_t/(\sqrt{\hat s_t} + \epsilon)`, :math:`\hat s_t`
                               their second statistic corrected by :math:`1-\beta_2^t`
RMSProp                        :math:`\gamma_t/(\sqrt{v_t}+\epsilon)` (PyTorch) or
                               :math:`\gamma_t/\sqrt{v_t+\epsilon}` (optax, Keras); centered:
                               :math:`v_t - \bar g_t^2`; bias correction: :math:`v_t/(1-\rho^t)`
Adagrad                        :math:`\gamma_t/((1+(t-1)\delta)(\sqrt{G_t}+\epsilon))` (PyTorch),
                               :math:`\gamma_t/\sqrt{G_t+\epsilon}` (optax: 0 where
                               :math:`G_t = 0`; Keras)
Adadelta                       :math:`\gamma_t\sqrt{u_{t-1}+\epsilon}/\sqrt{v_t+\epsilon}`
============================  ==============================================================

A coordinate whose gradients have been large gets a small rate and one whose gradients
have been small a large one: on an ill-conditioned bowl Adam's rates end up roughly
inverse to the curvature's square root along each axis, which is why it crosses the
narrow valley without the oscillation of plain gradient descent.

These are computed from the state the run recorded (``Trajectory.internals``, kept for
problems up to the engine's ``MAX_INTERNALS`` parameters), the hyperparameters of the
update (scheduled ones as recorded) and its number :math:`t`.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

import numpy as np

from gdlab._validation import InvalidParameterError

ADAPTIVE = ("adam", "adamw", "amsgrad", "nadam", "radam", "adamax", "adabelief", "yogi",
            "rmsprop", "adagrad", "adadelta")
"""The optimizers with per-coordinate effective learning rates."""

MOMENTUM_BUFFERS = ("momentum", "nesterov", "rmsprop", "adam", "adamw", "amsgrad", "nadam",
                    "radam", "adamax", "adabelief", "yogi", "signum", "lion")
"""The optimizers whose state holds a momentum buffer or a first moment."""

_CORRECTED_FIRST_MOMENT = ("adam", "adamw", "amsgrad", "nadam", "radam", "adamax",
                           "adabelief", "yogi")


@dataclass(frozen=True)
class EffectiveLearningRates:
    """Each coordinate's effective learning rate at each recorded update.

    Attributes:
        step: the update numbers, shape ``(T,)`` (as ``Trajectory.step``).
        values: :math:`\\eta_{t,i}`, shape ``(T, d)``.
        formula: the formula used, in words.
        optimizer: the optimizer's name.
    """

    step: np.ndarray
    values: np.ndarray
    formula: str
    optimizer: str


def optimizer_settings(trajectory, optimizer=None) -> dict:
    """Every setting of the optimizer a run used: its factory's defaults, the convention's
    defaults, then the run's own values.

    The numbers come from ``trajectory.settings``; the static settings (convention, flags)
    from ``optimizer`` when given (the :class:`~gdlab.optimizers.OptimizerSpec` of the
    run), else from the run's description (``settings["describe"]``).

    Raises:
        InvalidParameterError: the trajectory does not name a registered optimizer.
    """
    from gdlab.optimizers._registry import CONVENTION_DEFAULTS, OPTIMIZERS

    recorded = dict(getattr(trajectory, "settings", {}) or {})
    name = getattr(optimizer, "name", None) or recorded.get("optimizer")
    if name not in OPTIMIZERS:
        raise InvalidParameterError(
            "trajectory", "a run of a registered optimizer (built with gdlab.optimizer), "
            "whose settings name it", name)
    factory = OPTIMIZERS[name].factory
    accepted = inspect.signature(factory).parameters
    settings = {k: p.default for k, p in accepted.items()
                if p.default is not inspect.Parameter.empty}
    settings.update(OPTIMIZERS[name].defaults)
    if optimizer is not None:
        given = {**dict(optimizer.static), **optimizer.hyperparams}
    else:
        given = {k: v for k, v in recorded.items() if k in accepted}
        described = str(recorded.get("describe", ""))
        for key, text in re.findall(r"(\w+)=([\w.+-]+)", described):
            if key in accepted and key not in given:
                given[key] = {"True": True, "False": False}.get(text, text)
    convention = given.get("convention", settings.get("convention"))
    for key, value in CONVENTION_DEFAULTS.get(name, {}).get(convention, {}).items():
        if settings.get(key) is None:
            settings[key] = value
    settings.update({k: v for k, v in given.items() if v is not None})
    settings["name"] = name
    return settings


def non_default_settings(trajectory, optimizer=None) -> dict:
    """The settings of a run that differ from its optimizer's defaults (for the
    convention it used), the learning rate always included: what a legend needs to tell
    runs apart, e.g. ``{"learning_rate": 0.01, "momentum": 0.5}``."""
    settings = optimizer_settings(trajectory, optimizer)
    name = settings["name"]
    blank = type("Blank", (), {"settings": {"optimizer": name, "describe":
                                            f"{name}(convention={settings.get('convention')})"}})
    defaults = optimizer_settings(blank)
    # the convention itself against the registry's (the defaults above follow the run's)
    defaults["convention"] = optimizer_settings(type("Blank", (), {"settings": {
        "optimizer": name}})).get("convention")
    differ = {}
    for key, value in settings.items():
        if key == "name":
            continue
        default = defaults.get(key)
        same = (value == default if not isinstance(value, float | int) or isinstance(
            default, bool) or default is None else np.isclose(value, default, rtol=1e-12))
        if key == "learning_rate" or not same:
            differ[key] = value
    return differ


def _hyper(trajectory, settings, key):
    """A hyperparameter per record, shape ``(T, 1)``: as recorded when it was scheduled,
    else the run's number."""
    values = trajectory.hyperparams.get(key) if trajectory.hyperparams else None
    if values is None:
        values = np.full(len(trajectory.step), float(settings[key]))
    return np.asarray(values, dtype=np.float64).reshape(-1, 1)


def _state(trajectory, key, name):
    if key not in trajectory.internals:
        raise InvalidParameterError(
            "trajectory", f"a run whose optimizer state was recorded ({name}'s '{key}'; "
            "the engine records it for problems up to gdlab.engine.MAX_INTERNALS "
            "parameters)", f"internals {sorted(trajectory.internals)}")
    return np.asarray(trajectory.internals[key], dtype=np.float64)


def effective_learning_rates(trajectory, optimizer=None) -> EffectiveLearningRates:
    """Each coordinate's effective learning rate :math:`\\eta_{t,i}` along a run of an
    adaptive optimizer (the formulas of the module docstring).

    Args:
        trajectory: a :class:`~gdlab.trajectory.Trajectory` of one of :data:`ADAPTIVE`,
            with its internals recorded. Adadelta needs every update recorded
            (``record_every=1``): its rate uses the previous update's state.
        optimizer: the run's :class:`~gdlab.optimizers.OptimizerSpec` (default: read
            from the trajectory's settings).

    Returns:
        :class:`EffectiveLearningRates`.

    Raises:
        InvalidParameterError: an optimizer without per-coordinate rates (SGD, momentum,
            sign methods...), or a run without recorded internals.
    """
    settings = optimizer_settings(trajectory, optimizer)
    name = settings["name"]
    if name not in ADAPTIVE:
        raise InvalidParameterError(
            "trajectory", f"a run of an adaptive optimizer, one of {{{', '.join(ADAPTIVE)}}}"
            f" ({name} has one learning rate for every coordinate: "
            "trajectory.learning_rate)", f"a run of {name}")
    t = np.asarray(trajectory.step, dtype=np.float64).reshape(-1, 1)
    gamma = np.asarray(trajectory.learning_rate, dtype=np.float64).reshape(-1, 1)
    convention = settings.get("convention", "pytorch")
    h = lambda key: _hyper(trajectory, settings, key)  # noqa: E731
    s = lambda key: _state(trajectory, key, name)  # noqa: E731
    if name in ("adam", "adamw", "amsgrad"):
        b2, eps = h("b2"), h("eps")
        amsgrad = name == "amsgrad" or bool(settings.get("amsgrad"))
        correction2 = 1.0 - b2**t
        second = s("v_max") if amsgrad else s("v")
        if convention == "optax":
            v_hat = second if amsgrad else second / correction2
            values = gamma / (np.sqrt(v_hat + h("eps_root")) + eps)
            formula = "lr / (sqrt(v_hat + eps_root) + eps)"
        elif convention == "keras":
            values = gamma / (np.sqrt(second / correction2) + eps / np.sqrt(correction2))
            formula = "lr sqrt(1 - b2^t) / (sqrt(v) + eps_hat)"
        else:
            values = gamma / (np.sqrt(second / correction2) + eps)
            formula = "lr / (sqrt(v_hat) + eps)"
        if amsgrad:
            formula += ", v the running maximum"
    elif name in ("nadam", "adabelief", "yogi"):
        values = gamma / (np.sqrt(s("v") / (1.0 - h("b2")**t)) + h("eps"))
        formula = "lr / (sqrt(v_hat) + eps)" if name != "adabelief" else \
            "lr / (sqrt(s_hat) + eps)"
    elif name == "radam":
        b2, eps = h("b2"), h("eps")
        correction2 = 1.0 - b2**t
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho = rho_inf - 2.0 * t * b2**t / correction2
        safe = np.maximum(rho, 5.0 + 1e-12)
        r = np.sqrt((safe - 4) * (safe - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe))
        v = s("v")
        if convention == "optax":
            rectified, tractable = r / (np.sqrt(v / correction2) + eps), rho >= 5.0
        else:
            rectified, tractable = r * np.sqrt(correction2) / (np.sqrt(v) + eps), rho > 5.0
        values = gamma * np.where(tractable, rectified, 1.0)
        formula = "lr r_t / (sqrt(v_hat) + eps) once rho_t > 5, else lr"
    elif name == "adamax":
        u = s("v")
        values = gamma / (u + h("eps")) if convention == "keras" else gamma / u
        formula = "lr / (u + eps)" if convention == "keras" else "lr / u"
    elif name == "rmsprop":
        rho, eps = h("decay"), h("eps")
        v = s("v")
        g_bar = s("g_bar") if settings.get("centered") else np.zeros_like(v)
        if settings.get("bias_correction"):
            v, g_bar = v / (1.0 - rho**t), g_bar / (1.0 - rho**t)
        spread = v - g_bar**2
        inside = bool(settings["eps_in_sqrt"])
        values = gamma / (np.sqrt(spread + eps) if inside else np.sqrt(spread) + eps)
        formula = "lr / sqrt(v + eps)" if inside else "lr / (sqrt(v) + eps)"
    elif name == "adagrad":
        G, eps = s("G"), h("eps")
        if convention == "pytorch":
            values = gamma / (1.0 + (t - 1.0) * h("lr_decay")) / (np.sqrt(G) + eps)
            formula = "lr / ((1 + (t-1) lr_decay) (sqrt(G) + eps))"
        else:
            with np.errstate(divide="ignore"):
                values = gamma / np.sqrt(G + eps)
            if convention == "optax":
                values = np.where(G > 0, values, 0.0)
            formula = "lr / sqrt(G + eps)"
    else:  # adadelta
        steps = np.asarray(trajectory.step)
        if not np.array_equal(steps, np.arange(1, len(steps) + 1)):
            raise InvalidParameterError(
                "trajectory", "a run of adadelta recorded at every update (record_every=1): "
                "its rate uses the previous update's u", f"steps {steps[:3]}...")
        eps, u = h("eps"), s("u")
        previous = np.vstack([np.zeros_like(u[:1]), u[:-1]])
        values = gamma * np.sqrt(previous + eps) / np.sqrt(s("v") + eps)
        formula = "lr sqrt(u_(t-1) + eps) / sqrt(v + eps)"
    return EffectiveLearningRates(step=np.asarray(trajectory.step), values=values,
                                  formula=formula, optimizer=name)


def momentum_displacements(trajectory, optimizer=None) -> tuple[np.ndarray, str]:
    r"""The momentum buffer of a run at each recorded update, as a displacement in
    parameter space (shape ``(T, d)``), and what it is, in words.

    - A buffer of gradients :math:`b_t` (heavy ball and Nesterov in PyTorch's and optax's
      form; PyTorch's RMSProp): :math:`-\gamma_t b_t`. For heavy ball it is the step
      that arrived at :math:`\theta_t`; the next step is :math:`\mu` times it plus
      :math:`-\gamma_{t+1}\nabla L`.
    - A velocity :math:`v_t` (Keras's momentum) or optax's and Keras's RMSProp buffer,
      which already hold the learning rate: :math:`v_t` (:math:`-b_t`).
    - The Adam family's first moment: :math:`-\gamma_t \hat m_t` with
      :math:`\hat m_t = m_t/(1-\beta_1^t)` (before the per-coordinate scaling); signum
      and Lion: :math:`-\gamma_t m_t`.

    Raises:
        InvalidParameterError: an optimizer without a buffer, or a run without recorded
            internals.
    """
    settings = optimizer_settings(trajectory, optimizer)
    name = settings["name"]
    gamma = np.asarray(trajectory.learning_rate, dtype=np.float64).reshape(-1, 1)
    t = np.asarray(trajectory.step, dtype=np.float64).reshape(-1, 1)
    convention = settings.get("convention", "pytorch")
    if name not in MOMENTUM_BUFFERS or (name == "rmsprop" and "b" not in trajectory.internals
                                        and not settings.get("momentum")):
        raise InvalidParameterError(
            "trajectory", "a run of an optimizer with a momentum buffer, one of "
            f"{{{', '.join(MOMENTUM_BUFFERS)}}} (rmsprop with momentum > 0)",
            f"a run of {name}")
    if name in ("momentum", "nesterov"):
        if convention == "keras":
            return _state(trajectory, "v", name), "velocity v (lr included)"
        return -gamma * _state(trajectory, "b", name), "−lr·b (momentum buffer)"
    if name == "rmsprop":
        b = _state(trajectory, "b", name)
        if convention == "pytorch":
            return -gamma * b, "−lr·b (momentum buffer)"
        return -b, "−b (momentum buffer, lr included)"
    m = _state(trajectory, "m", name)
    if name in _CORRECTED_FIRST_MOMENT:
        return -gamma * m / (1.0 - _hyper(trajectory, settings, "b1")**t), \
            "−lr·m̂ (first moment, bias-corrected)"
    return -gamma * m, "−lr·m (first moment)"
