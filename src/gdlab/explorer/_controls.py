"""The explorer's widgets, built from the registries (problem names, optimizer names,
their conventions) and from each optimizer's declared table (the momentum slider's
range, the learning-rate slider's ends within the page's limits, the settings box's
hint), each with its CSS class ``gdlab-<name>`` (what the browser tests select on). No
second copy of a range lives here: they are read from the tables (:mod:`._state`,
:mod:`._settings`)."""

from __future__ import annotations

import math

import panel as pn
from bokeh.models import CustomJSTickFormatter

from gdlab.explorer import _settings
from gdlab.explorer._state import (
    LR_RANGE,
    MAX_BATCH,
    MAX_KAPPA,
    MAX_OPTIMIZERS,
    MAX_SEED,
    MAX_STEPS,
    PROBLEM_NAMES,
    SCHEDULES,
    State,
    has_momentum,
    lr_bounds,
    momentum_range,
)
from gdlab.optimizers import OPTIMIZERS
from gdlab.sampling import SCHEMES

_LOG_FORMAT = CustomJSTickFormatter(code="return Math.pow(10, tick).toPrecision(3)")


class Slider(pn.widgets.FloatSlider):
    """A float slider whose released value reaches the server at once. Panel holds a
    widget's change for 50 ms (``_debounce``) to merge a burst of them into one callback;
    with ``pn.config.throttled`` a slider sends one value per release or key press, so
    the hold only added 50 ms to every update (measured: 60 ms of the 131 ms median
    from the key press to the paint)."""

    _debounce = 0

    @property
    def _linked_properties(self) -> tuple[str, ...]:
        return _released_only(super()._linked_properties)


class IntSlider(pn.widgets.IntSlider):
    """An integer slider without Panel's 50 ms hold (see :class:`Slider`)."""

    _debounce = 0

    @property
    def _linked_properties(self) -> tuple[str, ...]:
        return _released_only(super()._linked_properties)


def _released_only(properties: tuple[str, ...]) -> tuple[str, ...]:
    """A slider's browser properties the server listens to: with ``pn.config.throttled``
    (a served page) not the handle's live ``value``, which Panel drops on arrival anyway
    (it reads ``value_throttled``), after a hop to the callback threads per key press."""
    if pn.config.throttled:
        return tuple(p for p in properties if p != "value")
    return properties


def css(name: str) -> list[str]:
    return [f"gdlab-{name}"]


class SlotControls:
    """The widgets of optimizer slot ``k``: name, log learning rate, convention, momentum."""

    def __init__(self, k: int):
        self.k = k
        self.optimizer = pn.widgets.Select(label=f"optimizer {k}",
                                           options=["", *OPTIMIZERS], css_classes=css(
                                               f"optimizer-{k}"), width=150)
        low, high = (math.log10(v) for v in LR_RANGE)
        self.lr = Slider(label=f"learning rate {k}", start=low, end=high,
                                         step=0.01, value=-2.0, format=_LOG_FORMAT,
                                         css_classes=css(f"lr-{k}"), width=200)
        self.convention = pn.widgets.Select(label="convention", options=[""],
                                            css_classes=css(f"convention-{k}"), width=110)
        self.momentum = Slider(label="momentum", start=0.0, end=0.999,
                                               step=0.001, value=0.9,
                                               css_classes=css(f"momentum-{k}"), width=160)
        self.schedule = pn.widgets.Select(label="schedule", options=["", *SCHEDULES],
                                          css_classes=css(f"schedule-{k}"), width=100)
        self.settings = pn.widgets.TextInput(label="other settings (key=value, ...)",
                                             css_classes=css(f"settings-{k}"), width=260)
        self.layout = pn.Row(self.optimizer, self.lr, self.convention, self.schedule,
                             self.momentum, self.settings)

    def show(self, slot) -> None:
        """Set the widgets to ``slot`` (without their callbacks reacting: the caller holds
        the explorer's ``updating`` flag)."""
        self.optimizer.value = slot.name
        low, high = (round(math.log10(v), 6) for v in lr_bounds(slot.name))
        _update(self.lr, start=low, end=high, value=round(math.log10(slot.learning_rate), 6))
        conventions = list(OPTIMIZERS[slot.name].conventions) if slot.name else []
        self.convention.options = conventions or [""]
        self.convention.value = slot.convention if slot.convention in conventions else (
            conventions[0] if conventions else "")
        self.convention.disabled = not conventions
        self.momentum.visible = has_momentum(slot.name)
        if self.momentum.visible:
            start, end = momentum_range(slot.name)
            off = slot.momentum is None  # the optimizer's default (none) until moved
            _update(self.momentum, start=start, end=end,
                    value=start if off else float(slot.momentum),
                    label="momentum (off)" if off else "momentum")
        self.lr.disabled = self.schedule.disabled = self.settings.disabled = not slot.name
        self.schedule.value = slot.schedule
        self.settings.value = _settings.to_text(slot.extra)
        self.settings.placeholder = _settings.placeholder(slot.name, slot.convention)


def _update(widget, **values) -> None:
    """Set the widget's parameters that change (an unchanged one sends nothing)."""
    changed = {k: v for k, v in values.items() if getattr(widget, k) != v}
    if changed:
        widget.param.update(**changed)


class Controls:
    """Every control of the page."""

    def __init__(self):
        self.problem = pn.widgets.Select(label="problem", options=list(PROBLEM_NAMES),
                                         css_classes=css("problem"), width=170)
        self.expression = pn.widgets.TextInput(label="expression (x, y)",
                                               css_classes=css("expression"), width=220)
        self.kappa = pn.widgets.FloatInput(label="condition number κ", start=1.0,
                                           end=MAX_KAPPA, css_classes=css("kappa"), width=130)
        self.steps = pn.widgets.IntInput(label="steps", start=1, end=MAX_STEPS,
                                         css_classes=css("steps"), width=100)
        self.seed = pn.widgets.IntInput(label="seed", start=0, end=MAX_SEED,
                                        css_classes=css("seed"), width=90)
        self.batch = pn.widgets.IntInput(label="batch size (0: full)", start=0, end=MAX_BATCH,
                                         css_classes=css("batch"), width=120)
        self.sampling = pn.widgets.Select(label="sampling", options=["", *SCHEMES],
                                          css_classes=css("sampling"), width=120)
        self.slots = [SlotControls(k) for k in range(1, MAX_OPTIMIZERS + 1)]
        self.play = pn.widgets.Button(label="play", css_classes=css("play"), width=80)
        self.pause = pn.widgets.Button(label="pause", css_classes=css("pause"), width=80)
        self.step = pn.widgets.Button(label="step +1", css_classes=css("step"), width=80)
        self.reset = pn.widgets.Button(label="reset", css_classes=css("reset"), width=80)
        self.current = IntSlider(label="current step", start=0, end=1, value=0,
                                            css_classes=css("current"), width=300)

    def show(self, state: State, problem) -> None:
        """Set every widget to ``state`` (data widgets only where the problem has data)."""
        self.problem.value = state.problem
        self.expression.value = state.expression
        self.expression.visible = state.problem == "expression"
        self.kappa.value = float(state.kappa)
        self.kappa.visible = state.problem == "quadratic"
        self.steps.value = int(state.steps)
        self.seed.value = int(state.seed)
        self.batch.value = int(state.batch or 0)
        self.sampling.value = state.sampling
        has_data = problem is not None and problem.num_examples > 0
        for widget in (self.seed, self.batch, self.sampling):
            widget.visible = has_data
        for controls, slot in zip(self.slots, state.slots, strict=True):
            controls.show(slot)
