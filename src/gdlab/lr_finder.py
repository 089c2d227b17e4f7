r"""The learning-rate range test (L. N. Smith, "Cyclical Learning Rates for Training Neural
Networks", WACV 2017, section 3.3; popularised by fastai's ``lr_find``).

The learning rate grows exponentially from ``start`` to ``end`` over ``num_steps``
updates, :math:`\gamma_t = \gamma_s (\gamma_e/\gamma_s)^{t/(N-1)}`, while the batch loss
is recorded. The exponential moving average of its logarithm, with bias correction,

.. math:: a_t = \beta a_{t-1} + (1-\beta)\log\ell_t, \qquad
          \bar\ell_t = \exp\big(a_t / (1 - \beta^{t+1})\big),

is followed until it exceeds ``stop_factor`` times its best value (or stops being
finite): the part before that is the valid part of the curve. Three suggestions are
read off it, all of them **heuristics**, not guarantees:

* ``steepest``: where :math:`\log\bar\ell` falls fastest against :math:`\log\gamma`;
* ``valley``: halfway along the longest decreasing run of :math:`\bar\ell` (the longest
  strictly decreasing subsequence, as fastai's ``valley`` does), counted from where
  :math:`\bar\ell` has fallen 1% below its start;
* ``minimum/10``: a tenth of the learning rate at the lowest :math:`\bar\ell`.

fastai averages the losses themselves; gdlab averages their logarithms (a geometric
mean), because when the loss falls by orders of magnitude within a few steps, as on
the article's problem, the arithmetic average stays dominated by the early, large
losses and lags the curve by a decade of learning rate or more.

On a quadratic problem the result also carries the exact full-batch stability
threshold that :func:`gdlab.theory.analyse` answers (:math:`2/\lambda_{\max}` for SGD,
:math:`2(1+\beta)/\lambda_{\max}` with heavy-ball momentum :math:`\beta`; none for other
optimizers, which this theory does not cover) and, for SGD, the optimal constant learning
rate :math:`2/(\lambda_{\min}+\lambda_{\max})`, so the heuristics can be checked against the
truth. The user's parameters are never changed: the test is a separate run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gdlab import theory
from gdlab._validation import InvalidParameterError, check_float, check_int
from gdlab.engine import run
from gdlab.optimizers import optimizer as make_spec
from gdlab.schedules import exponential
from gdlab.status import DIVERGED

HEURISTIC_NOTE = ("The suggestions are heuristics read off one noisy curve; on a quadratic, "
                  "compare them with the stability threshold and the optimal learning rate.")


@dataclass
class LRFinderResult:
    """What :func:`lr_find` measured and suggests.

    Attributes:
        learning_rates: the learning rate used at each update of the valid part.
        losses: the batch loss at each of those updates.
        smoothed: the bias-corrected moving geometric average of ``losses``.
        stopped_at: the update (0-based) where the smoothed loss passed
            ``stop_factor`` times its best, or ``None`` if it never did.
        suggestions: ``{"steepest", "valley", "minimum/10"}`` learning rates.
        threshold: the full-batch stability threshold where the problem is a quadratic
            and the optimizer is SGD or heavy-ball momentum, else ``None``.
        optimal: the optimal constant learning rate of plain gradient descent (SGD on a
            quadratic only).
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stopped_at: int | None
    suggestions: dict[str, float]
    threshold: float | None = None
    optimal: float | None = None
    optimizer: str = ""
    note: str = field(default=HEURISTIC_NOTE)

    @property
    def suggestion(self) -> float:
        """The headline suggestion, ``minimum/10``: on the quadratics of gdlab's tests it is
        the one that stays below the stability threshold and within 10x of the optimal
        constant learning rate (``steepest`` and ``valley`` can fall 10-40x lower)."""
        return self.suggestions["minimum/10"]


def _longest_decreasing_run(values: np.ndarray) -> tuple[int, int]:
    """Start and end indices of the longest strictly decreasing subsequence."""
    n = len(values)
    length = np.ones(n, dtype=int)
    origin = np.arange(n)
    for i in range(1, n):
        smaller = np.nonzero(values[:i] > values[i])[0]
        if len(smaller):
            best = smaller[np.argmax(length[smaller])]
            if length[best] + 1 > length[i]:
                length[i] = length[best] + 1
                origin[i] = origin[best]
    end = int(np.argmax(length))
    return int(origin[end]), end


def suggest(learning_rates: np.ndarray, smoothed: np.ndarray) -> dict[str, float]:
    """The three suggestions from a valid (learning rate, smoothed loss) curve."""
    if len(smoothed) < 3:
        raise InvalidParameterError("num_steps", "enough steps for at least 3 valid points "
                                    "before the loss blows up (try a smaller start)",
                                    len(smoothed))
    slopes = np.gradient(np.log(smoothed), np.log(learning_rates))
    # the valley is sought where the loss has begun to fall (1% below its start): on the
    # flat part, tiny decreases would otherwise make the longest run start at step 0
    falling = np.nonzero(smoothed < 0.99 * smoothed[0])[0]
    offset = int(falling[0]) if len(falling) else 0
    start, end = _longest_decreasing_run(smoothed[offset:])
    start, end = start + offset, end + offset
    return {
        "steepest": float(learning_rates[int(np.argmin(slopes))]),
        "valley": float(learning_rates[(start + end) // 2]),
        "minimum/10": float(learning_rates[int(np.argmin(smoothed))] / 10.0),
    }


def lr_find(problem, optimizer: str = "sgd", *, start: float = 1e-7, end: float = 10.0,
            num_steps: int = 100, batch_size: int | None = None, sampling: str | None = None,
            seed: int = 0, smoothing: float | None = None, stop_factor: float = 4.0,
            **settings) -> LRFinderResult:
    """Run the learning-rate range test for ``optimizer`` on ``problem``.

    Args:
        problem: what to minimize.
        optimizer: a registry name; ``settings`` are its other hyperparameters.
        start: the first learning rate, > 0.
        end: the last learning rate, > start.
        num_steps: updates over which the rate grows, >= 5.
        batch_size, sampling, seed: as in :func:`gdlab.run`.
        smoothing: :math:`\\beta \\in [0, 1)` of the moving average; by default
            :math:`1 - 20/N`, a memory of :math:`N/20` steps (fastai's fixed 0.98 remembers
            50 steps, half of its default 100-step test, and lags the curve).
        stop_factor: stop once the smoothed loss exceeds this times its best, > 1.
        **settings: the optimizer's other hyperparameters (e.g. ``momentum=0.9``).

    Returns:
        An :class:`LRFinderResult`.

    Examples:
        >>> import gdlab
        >>> result = gdlab.lr_find(gdlab.article_regression(seed=0), start=1e-8, end=1e-2)
        >>> result.threshold > result.suggestion > result.optimal / 10
        True
    """
    start = check_float("start", start, low=0.0)
    end = check_float("end", end, low=start)
    num_steps = check_int("num_steps", num_steps, low=5)
    # The ramp is start * (end/start)^(t/(N-1)): its ratio must be a finite float too, or
    # the schedule underneath refuses it and blames its own 'decay_rate'.
    if not np.isfinite(end / start):
        raise InvalidParameterError(
            "end", f"at most {np.finfo(np.float64).max * start:.3g} for start={start:g} "
            "(end/start must be a finite float64)", end)
    if smoothing is None:
        smoothing = max(0.0, 1.0 - 20.0 / num_steps)
    smoothing = check_float("smoothing", smoothing, 0.0, 1.0, "left")
    stop_factor = check_float("stop_factor", stop_factor, low=1.0)
    if "learning_rate" in settings:
        raise InvalidParameterError("learning_rate", "unset: the range test chooses it (use "
                                    "start and end)", settings["learning_rate"])
    ramp = exponential(start, end / start, transition_steps=num_steps - 1)
    spec = make_spec(optimizer, learning_rate=ramp, **settings)
    trajectory = run(problem, spec, num_steps=num_steps, batch_size=batch_size,
                     sampling=sampling, seed=seed, divergence_factor=1e300)
    rates = ramp.values(num_steps)[: len(trajectory.step)]
    losses = np.asarray(trajectory.batch_loss, dtype=np.float64)
    average, smoothed = 0.0, []
    best, stopped = np.inf, None
    for i, loss in enumerate(losses):
        with np.errstate(divide="ignore", invalid="ignore"):
            average = smoothing * average + (1.0 - smoothing) * np.log(loss)
            value = np.exp(average / (1.0 - smoothing ** (i + 1)))
        if not np.isfinite(value) or value > stop_factor * best:
            stopped = i
            break
        best = min(best, value)
        smoothed.append(value)
    if stopped is None and trajectory.status.kind == DIVERGED:
        stopped = len(smoothed)
    valid = len(smoothed)
    smoothed = np.array(smoothed)
    # The theory answers for plain gradient descent and heavy-ball momentum with a constant
    # coefficient on a quadratic; for adaptive methods there is no such threshold to draw.
    facts = theory.analyse(problem, spec)
    threshold = None if facts is None else facts.max_stable_learning_rate
    optimal = (facts.gd_optimal_learning_rate
               if facts is not None and facts.method == "gradient descent" else None)
    return LRFinderResult(
        learning_rates=rates[:valid], losses=losses[:valid], smoothed=smoothed,
        stopped_at=stopped, suggestions=suggest(rates[:valid], smoothed),
        threshold=threshold, optimal=optimal,
        optimizer=", ".join([optimizer] + [f"{k}={v:g}" for k, v in settings.items()
                                           if isinstance(v, int | float)]))
