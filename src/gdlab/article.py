r"""The seed article's experiments as data, faithful to it or corrected.

The article ("Gradient Descent Explained", M. Capel, 2020) fits the slope ``w`` of
``y = 3.2 x + noise`` (150 points, ``x`` uniform on ``[0, 100)``, start ``w = 10``) in
three experiments: per-sample SGD for learning rates 1e-4, 1e-3, 1e-2; mini-batches of
5 for 100 iterations with the same learning rates; momentum coefficients 1e-4, 1e-3,
1e-2 at learning rate 1e-4 with mini-batches of 5.

Two modes:

``faithful``
    The article's exact algorithms, quirks included (errata 1-3 and 6 below). Its
    gradient :math:`\tfrac{2}{N}(wx-y)x` is :math:`1/N` times the gradient of the loss
    it records, :math:`(wx-y)^2`; since every update is linear in the learning rate,
    gdlab runs it as the mean-squared-error gradient with learning rate
    :math:`\gamma/N`, which gives the same iterates (checked against a NumPy transcription
    of the article's loops to 1e-12 in ``tests/test_article.py``). Each run draws its own
    batches, as the article's does.

``corrected`` (the default)
    The standard unbiased convention (the mean of per-example gradients), all 150
    points sampled, learning rates stated as fractions of the stability threshold, the
    same batches for every run of a figure (so curves differ by the setting alone),
    momentum values that matter (0, 0.5, 0.9), and a fourth experiment on a problem
    where momentum visibly helps.

Errata (each is also listed in the report):

1. The gradient carries a factor :math:`2/N`: the derivative of :math:`(wx-y)^2` is
   :math:`2x(wx-y)`. Every learning rate is therefore effectively divided by
   :math:`N = 150` (the article's 0.01 acts as 6.7e-5).
2. Mini-batch indices come from ``np.random.choice(100, ...)``: only the first 100 of the
   150 points are ever used.
3. The mini-batch gradient ``np.mean(2 / N * ...)`` keeps the factor of erratum 1.
4. The momentum formula in the text, :math:`m \leftarrow g(t) - \alpha m(t-1)`, has the
   wrong sign; the code (rightly) adds.
5. The expansion ends in :math:`\sum_i \alpha^i\, gradient(t-1)`; the index should be
   :math:`t-i`.
6. The momentum coefficients 1e-4 to 1e-2 change the update by at most 1%: the
   differences between the article's momentum curves come from each run's own random
   batches, not from momentum. Typical values are 0.5 to 0.99.
7. The momentum figure's title shows ``learning rate={lr}`` literally: in
   ``f'...Various'\ 'Momentums\nlearning rate={lr}'`` the f prefix covers only the first
   of the two joined literals, so ``{lr}`` is never replaced. Formatted, it would still be
   wrong: ``plot_descents_momentum(..., lr=.001)`` is called after runs with ``lr=0.0001``.
8. The loss panel of the momentum figure is labelled ``w`` on its y-axis.
9. Two titles lose a space where string literals are joined: "Iterationfor" and
   "VariousMomentums".
10. Each run draws different random batches, so comparing two curves mixes the effect of
    the setting with sampling noise (corrected mode uses common random numbers).
11. The noise is written :math:`\varepsilon \sim N(0, 10)` but drawn with ``scale=10``:
    10 is the standard deviation, not the variance.
12. The plotted "loss" is the loss of the current sample or batch before the update,
    not the training loss; it is noisy by construction. Corrected mode plots the
    full-data loss.
13. Why momentum looked "modest": the one-parameter problem has condition number 1,
    where the optimal heavy-ball momentum is 0 (Polyak). Momentum pays off when the
    Hessian's eigenvalues are far apart (experiment 4).
14. Code typos: lost line breaks (``w_start = 10X = ...``, ``Y = np.add(Y, eps)plt.scatter``),
    a backslash followed by a space (a SyntaxError), ``plt.cm.get_cmap`` (removed in
    Matplotlib 3.9), "0,01" in the text.
15. The text calls the gradient "the slope of the vector orthogonal to the tangent
    hyperplane". The gradient lives in parameter space and points to steepest ascent;
    the normal of the graph's tangent hyperplane is :math:`(\nabla C, -1)`. It also says
    the gradient is computed "from the learning rate and the loss"; it does not depend
    on the learning rate.
16. RMSProp is described as a momentum variant in which "the momentum is increased in the
    direction where the slope is the strongest". RMSProp divides each coordinate's step by
    a running root mean square of that coordinate's gradients,
    :math:`\theta_i \leftarrow \theta_i - \gamma g_i/(\sqrt{v_i}+\epsilon)`,
    :math:`v_i \leftarrow \rho v_i + (1-\rho) g_i^2`: where the slope is steep the step
    is divided by a large number and where it is shallow by a small one, so the steps of
    all coordinates come out of similar size (about :math:`\gamma` under steady
    gradients). Steep directions get *smaller* steps relative to their gradient, not
    larger ones; and plain RMSProp has no momentum buffer at all (a momentum term is a
    separate option).
17. Mini-batching is said to make the descent "slower". The mean of 5 per-sample
    gradients has the same expectation as one per-sample gradient, so the expected step
    is the same; only its variance is 5 times smaller. Measured with gdlab on the
    article's problem (:func:`minibatch_speed`: 200 seeds, batches drawn with
    replacement from all 150 points, the article's largest rate as it acts, 0.01/150):
    batches of 5 bring ``w`` within 0.05 of the least-squares slope in the same median
    number of steps as single samples (7 and 8), with 5 times the examples (35 against
    8), and afterwards ``w`` fluctuates about 2.5 times less (standard deviation 0.044
    against 0.108; the gradient noise's standard deviation is :math:`\sqrt 5` times
    smaller). Per step mini-batches are not slower, per example seen they are, and they
    are steadier. The article's two figures do not show the same number of steps either:
    its mini-batch runs stop at 100 iterations, its per-sample runs at 150.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdlab import theory
from gdlab._validation import check_choice
from gdlab.engine import run_many
from gdlab.optimizers import optimizer
from gdlab.problems import LeastSquares, article_regression
from gdlab.trajectory import Trajectory

MODES = ("corrected", "faithful")
FIGURE_NAMES = {
    # experiment key: the file stem of its figure
    "learning_rate": "w-and-loss-by-learning-rate",
    "batch": "w-and-loss-by-learning-rate-batch-5",
    "momentum": "w-and-loss-by-momentum",
    "conditioning": "momentum-on-ill-conditioned-problem",
}
ARTICLE_RATES = (1e-4, 1e-3, 1e-2)
ARTICLE_MOMENTA = (1e-4, 1e-3, 1e-2)

ERRATA = [
    ("Gradient factor", "The code's gradient 2/N (wx - y) x is 1/N times the derivative of the "
     "loss it records, (wx - y)^2 = 2x(wx - y): every learning rate is divided by N = 150 "
     "(0.01 acts as 6.7e-5)."),
    ("Mini-batch population", "np.random.choice(100, ...) draws only from the first 100 of "
     "the 150 points; the last 50 are never used."),
    ("Mini-batch gradient", "np.mean(2 / N * ...) keeps the 1/N factor of the first erratum."),
    ("Momentum sign", "The text's m <- g(t) - alpha m(t-1) should read + alpha m(t-1), as the "
     "code does."),
    ("Momentum index", "The expansion ends in sum_i alpha^i gradient(t-1); the index is t-i."),
    ("Momentum values", "Coefficients 1e-4 to 1e-2 change each update by at most 1%; the "
     "article's momentum curves differ by their random batches, not by momentum. Typical "
     "values are 0.5 to 0.99."),
    ("Momentum title", "The momentum figure's title shows 'learning rate={lr}' literally: in "
     "f'...Various' 'Momentums\\nlearning rate={lr}' the f prefix covers only the first of "
     "the two joined string literals. Formatted, it would still be wrong: the figure is drawn "
     "with lr=.001 after runs with lr=0.0001."),
    ("Axis label", "The loss panel of the momentum figure has 'w' as its y-axis label."),
    ("Titles", "Joined string literals lose a space: 'Iterationfor', 'VariousMomentums'."),
    ("Common random numbers", "Each run draws its own batches, so curves differ by sampling "
     "noise as well as by the setting; corrected mode gives every run of a figure the same "
     "batches."),
    ("Noise scale", "epsilon ~ N(0, 10) is drawn with scale=10: 10 is the standard deviation, "
     "not the variance."),
    ("Which loss", "The plotted loss is the current sample's or batch's loss before the "
     "update, not the training loss; corrected mode plots the full-data loss."),
    ("Modest momentum", "The one-parameter problem has condition number 1, where the optimal "
     "heavy-ball momentum is 0; momentum helps when Hessian eigenvalues are far apart."),
    ("Code typos", "Lost line breaks ('w_start = 10X = ...'), a backslash followed by a space "
     "(SyntaxError), plt.cm.get_cmap (removed in Matplotlib 3.9), '0,01'."),
    ("What a gradient is", "The gradient lives in parameter space and points to steepest "
     "ascent; the tangent hyperplane's normal is (grad C, -1). It does not depend on the "
     "learning rate."),
    ("RMSProp", "The text says RMSProp increases the momentum 'in the direction where the "
     "slope is the strongest'. RMSProp divides each coordinate's step by a running root mean "
     "square of that coordinate's gradients, so a steep coordinate's step is divided by a "
     "large number and a shallow one's by a small one: the steps come out of similar size "
     "in every direction, and steep directions get smaller steps relative to their "
     "gradient, not larger. Plain RMSProp has no momentum buffer at all."),
    ("Mini-batch speed", "The text says mini-batching makes the descent 'slower'. The mean "
     "of 5 per-sample gradients has the same expectation as one, and 1/5 of its variance. "
     "Measured with gdlab (200 seeds, the article's largest rate as it acts): batches of 5 "
     "bring w within 0.05 of the least-squares slope in the same median number of steps as "
     "single samples (7 and 8), using 5 times the examples (35 against 8), and w then "
     "fluctuates about 2.5 times less (standard deviation 0.044 against 0.108). Per step "
     "mini-batches are not slower; per example seen they are; they are steadier. The "
     "article's mini-batch runs also stop at 100 iterations, its per-sample runs at 150."),
]


@dataclass(frozen=True)
class Run:
    """One curve of a figure: its legend label and its settings."""

    label: str
    settings: dict
    seed: int


@dataclass(frozen=True)
class Experiment:
    """One figure of the article: a problem, an optimizer, and the runs it compares."""

    key: str
    title: str
    problem: LeastSquares
    optimizer: str
    base: dict
    runs: tuple[Run, ...]
    sampling: str
    batch_size: int | None
    num_steps: int
    population: int | None = None
    loss_kind: str = "full"
    explanation: str = ""

    def spec(self):
        return optimizer(self.optimizer, **self.base)


@dataclass
class ArticleResult:
    """Every experiment of one mode with its trajectories, in order."""

    mode: str
    seed: int
    experiments: list[Experiment]
    trajectories: dict[str, list[Trajectory]]


def experiments(mode: str = "corrected", seed: int = 0) -> list[Experiment]:
    """The article's experiments in ``mode`` (``"corrected"`` or ``"faithful"``).

    Args:
        mode: ``"corrected"`` (default) or ``"faithful"``; see the module docstring.
        seed: seeds the data (NumPy PCG64) and the batches (gdlab's hash generator).

    Returns:
        A list of :class:`Experiment`: ``learning_rate``, ``batch``, ``momentum`` and, in
        corrected mode, ``conditioning``.
    """
    check_choice("mode", mode, MODES)
    problem = article_regression(seed=seed)
    if mode == "faithful":
        return _faithful(problem, seed)
    return _corrected(problem, seed)


def _faithful(problem: LeastSquares, seed: int) -> list[Experiment]:
    n = problem.num_examples
    scale = 1.0 / n  # erratum 1: the 2/N gradient is the MSE gradient times 1/N

    def runs(values, key, label, first_seed):
        return tuple(
            Run(f"{label}={v:g}", {key: v * scale if key == "learning_rate" else v},
                first_seed + i)
            for i, v in enumerate(values)
        )

    lr_runs = runs(ARTICLE_RATES, "learning_rate", "lr", seed)
    eta1 = problem.max_stable_learning_rate_per_example()
    why = ("Faithful to the article: its gradient 2/N (wx-y)x is the mean-squared-error "
           "gradient divided by N, so learning rate lr acts as lr/150; each run draws its "
           "own batches. ")
    acting = ", ".join(f"{v:g} acts as {v * scale:.2g} = {v * scale / eta1:.3f}·η₁"
                       for v in ARTICLE_RATES)
    lr_why = why + (
        f"A step on one sample multiplies its residual by 1 - 2·lr·x², so it overshoots that "
        f"sample's minimum when lr > 1/(2x²) = η₁/2 for the largest x (η₁ = 1/max x² = "
        f"{eta1:.3g}): {acting}. Only the last is above η₁/2, so only it makes the largest-x "
        f"samples overshoot: the oscillation the article saw. The first is too slow to "
        f"reach w* in one pass.")
    batch_why = why + (
        "The mini-batch gradient is the mean over 5 points drawn with replacement from the "
        "first 100 only, so the run fits those 100 points, not all 150.")
    momentum_why = why + (
        "With coefficients of at most 0.01 the momentum buffer differs from the gradient by "
        "at most about 1%: the three curves differ because each run drew different batches, "
        "not because of momentum. At lr/150 = 6.7e-7 all three are far from w* after 100 "
        "steps.")
    return [
        Experiment("learning_rate", "Per-sample SGD, one pass in order (faithful: lr acts as "
                   "lr/150)", problem, "sgd", {"learning_rate": ARTICLE_RATES[0] * scale}, lr_runs,
                   "sequential", 1, n, loss_kind="batch", explanation=lr_why),
        Experiment("batch", "Mini-batches of 5 drawn from the first 100 points (faithful: lr "
                   "acts as lr/150)", problem, "sgd",
                   {"learning_rate": ARTICLE_RATES[0] * scale},
                   runs(ARTICLE_RATES, "learning_rate", "lr", seed + 10), "replacement", 5, 100,
                   population=100, loss_kind="batch", explanation=batch_why),
        Experiment("momentum", "Momentum at learning rate 1e-4 (acts as 6.7e-7), mini-batches "
                   "of 5 from the first 100 points", problem,
                   "momentum", {"learning_rate": 1e-4 * scale, "momentum": ARTICLE_MOMENTA[0]},
                   runs(ARTICLE_MOMENTA, "momentum", "alpha", seed + 20), "replacement", 5, 100,
                   population=100, loss_kind="batch", explanation=momentum_why),
    ]


def _corrected(problem: LeastSquares, seed: int) -> list[Experiment]:
    eta1 = problem.max_stable_learning_rate_per_example()
    x2 = float(np.mean(problem.X[:, 0] ** 2))
    fractions = (0.01, 0.1, 0.9)

    def lr_runs():
        return tuple(
            Run(f"lr={f:g}·η₁ ({f * eta1:.2g})", {"learning_rate": f * eta1}, seed)
            for f in fractions
        )

    contraction = [1.0 - 2.0 * f * eta1 * x2 for f in fractions]
    x_max = float(np.max(np.abs(problem.X[:, 0])))
    lr_why = (
        f"A step on one sample multiplies that sample's residual by 1 - 2·lr·x²: with "
        f"η₁ = 1/max x² = {eta1:.3g} every such step gets closer to its sample's own minimum "
        f"when lr < η₁, and overshoots it when lr > 1/(2x²). On average a step multiplies "
        f"w - w* by "
        f"1 - 2·lr·mean(x²): {contraction[0]:.4f} at 0.01·η₁ (after 150 steps "
        f"{contraction[0] ** 150:.0%} of the initial error remains: too slow), "
        f"{contraction[1]:.3f} at 0.1·η₁ (converged within about "
        f"{np.log(100) / -np.log(contraction[1]):.0f} steps, small noise), and at 0.9·η₁ the "
        f"samples with x > {x_max / np.sqrt(2 * 0.9):.0f} overshoot their own minimum at every "
        f"visit, so w keeps jumping around w* (oscillating)."
    )
    momenta = (0.0, 0.5, 0.9)
    low_lr = 0.01 * eta1
    momentum_why = (
        f"At the slow learning rate 0.01·η₁ = {low_lr:.2g}, heavy-ball momentum β multiplies "
        f"the effective step by up to 1/(1-β) (10x at β = 0.9), so it speeds this problem up, "
        f"with an overshoot. That is all it can do here: the problem has one parameter, "
        f"condition number 1, and at the best learning rate the optimal momentum is 0. The "
        f"next experiment shows where momentum truly pays."
    )
    ill = article_regression(seed=seed, true_intercept=20.0, fit_intercept=True)
    known = theory.analyse(ill, "sgd")
    eigenvalues = known.eigenvalues
    gamma = 0.5 * known.gd_max_stable_learning_rate
    hb_momenta = (0.0, 0.5, 0.9, 0.99)
    rates = [theory.analyse(ill, "momentum", learning_rate=gamma, momentum=b).rate
             for b in hb_momenta]
    cond_why = (
        f"Fitting w x + b with uncentered x in [0, 100) gives a Hessian with eigenvalues "
        f"{eigenvalues[0]:.3g} and {eigenvalues[-1]:.4g}: condition number "
        f"{known.condition_number:.0f}. Full-batch gradient descent at lr = 1/λmax = {gamma:.3g} "
        f"crawls along the flat direction (the intercept) at rate {rates[0]:.5f} per step; "
        f"momentum β raises the step along it by about 1/(1-β): theory gives rates "
        + ", ".join(f"{r:.5f} (β={b:g})" for b, r in zip(hb_momenta, rates, strict=True))
        + ". Dashed lines: the theoretical rate from the same start."
    )
    return [
        Experiment("learning_rate", "Per-sample SGD, one pass in order; η₁ = 1/max x²",
                   problem, "sgd", {"learning_rate": eta1}, lr_runs(), "sequential", 1,
                   problem.num_examples,
                   explanation=lr_why),
        Experiment("batch", "Mini-batches of 5 drawn with replacement from all 150 points",
                   problem, "sgd",
                   {"learning_rate": eta1}, lr_runs(), "replacement", 5, 100,
                   explanation="The same learning rates with mini-batches of 5: the average of "
                   "5 gradients has 1/5 of the variance, so the oscillation at 0.9·η₁ shrinks."),
        Experiment("momentum", f"Heavy-ball momentum at the slow learning rate {low_lr:.2g} "
                   "(0.01·η₁), mini-batches of 5", problem,
                   "momentum", {"learning_rate": low_lr, "momentum": 0.0},
                   tuple(Run(f"β={b:g}", {"momentum": b}, seed) for b in momenta),
                   "replacement", 5, 100, explanation=momentum_why),
        Experiment("conditioning", "Momentum on an ill-conditioned problem: fitting w x + b, "
                   f"full batch, lr = 1/λmax = {gamma:.2g}", ill,
                   "momentum", {"learning_rate": gamma, "momentum": 0.0},
                   tuple(Run(f"β={b:g}", {"momentum": b}, seed) for b in hb_momenta),
                   "full", None, 2000, explanation=cond_why),
    ]


def run_experiment(experiment: Experiment) -> list[Trajectory]:
    """Run every curve of one experiment in one compiled, vmapped program."""
    return run_many(
        experiment.problem,
        experiment.spec(),
        [run.settings for run in experiment.runs],
        seeds=[run.seed for run in experiment.runs],
        num_steps=experiment.num_steps,
        sampling=experiment.sampling,
        batch_size=experiment.batch_size,
        population=experiment.population,
    )


def run_article(mode: str = "corrected", seed: int = 0) -> ArticleResult:
    """Run every experiment of ``mode``: one compiled, vmapped program per figure."""
    chosen = experiments(mode, seed)
    trajectories = {experiment.key: run_experiment(experiment) for experiment in chosen}
    return ArticleResult(mode, seed, chosen, trajectories)


def minibatch_speed(batch_sizes=(1, 5), *, learning_rate: float | None = None,
                    tol: float = 0.05, seeds: int = 200, num_steps: int = 150,
                    seed: int = 0) -> list[dict]:
    r"""How fast mini-batches bring the article's ``w`` near the least-squares slope.

    Every batch size runs ``seeds`` times (batches drawn with replacement from all the
    points, one compiled program per batch size) and is summarised over the seeds by the
    median of: the first step with :math:`|w - w^*| \le` ``tol``, the examples used until
    then (steps times the batch size), and the standard deviation of ``w`` over the last
    third of the steps (its fluctuation once there). This is the measurement behind the
    "Mini-batch speed" erratum.

    Args:
        batch_sizes: the batch sizes to compare.
        learning_rate: the learning rate (default the article's largest, 0.01, as it acts
            through its 2/N factor: 0.01/150).
        tol: the distance to :math:`w^*` that counts as reached.
        seeds: runs per batch size.
        num_steps: updates per run.
        seed: seeds the data.

    Returns:
        One dict per batch size: ``batch_size``, ``steps``, ``examples``, ``never`` (the
        fraction of runs that never got within ``tol``) and ``fluctuation``.
    """
    problem = article_regression(seed=seed)
    w_star = float(problem.minimizer()[0])
    rate = ARTICLE_RATES[-1] / problem.num_examples if learning_rate is None else learning_rate
    spec = optimizer("sgd", learning_rate=rate)
    rows = []
    for batch_size in batch_sizes:
        runs = run_many(problem, spec, [{}] * seeds, seeds=list(range(seeds)),
                        num_steps=num_steps, sampling="replacement", batch_size=batch_size)
        w = np.stack([t.params[:, 0] for t in runs])
        step = np.stack([t.step for t in runs])
        near = np.abs(w - w_star) <= tol
        reached = near.any(axis=1)
        first = np.where(reached, step[np.arange(seeds), np.argmax(near, axis=1)], np.inf)
        rows.append({"batch_size": int(batch_size), "steps": float(np.median(first)),
                     "examples": float(np.median(first * batch_size)),
                     "never": float(1.0 - reached.mean()),
                     "fluctuation": float(np.median(np.std(w[:, -(w.shape[1] // 3):],
                                                           axis=1)))})
    return rows


def summary_rows(result: ArticleResult) -> list[dict]:
    """One row per run: final parameters and loss, distance to least squares, status."""
    rows = []
    for experiment in result.experiments:
        problem = experiment.problem
        optimum = problem.minimizer()
        for run, trajectory in zip(experiment.runs, result.trajectories[experiment.key],
                                   strict=True):
            final = trajectory.final_params
            rows.append({
                "experiment": experiment.key,
                "run": run.label,
                "final": ", ".join(f"{n}={v:.4f}" for n, v in
                                   zip(problem.param_names, final, strict=True)),
                "final_loss": trajectory.final_loss,
                "min_loss": problem.minimum(),
                "distance": float(np.linalg.norm(final - optimum)),
                "status": str(trajectory.status),
                "learning_rate": float(trajectory.learning_rate[-1]),
            })
    return rows


def theory_rows(result: ArticleResult) -> list[dict]:
    """The theory numbers of every problem used: minimizer, conditioning, thresholds."""
    seen, rows = set(), []
    for experiment in result.experiments:
        problem = experiment.problem
        if problem.name in seen:
            continue
        seen.add(problem.name)
        # the problem's numbers: any optimizer the theory covers answers them alike
        facts = theory.analyse(problem, experiment.spec()) or theory.analyse(problem, "sgd")
        best = facts.heavy_ball_optimal
        rows.append({
            "problem": problem.name,
            "least_squares": ", ".join(f"{n}={v:.5f}" for n, v in
                                       zip(problem.param_names, problem.minimizer(), strict=True)),
            "true": ", ".join(f"{n}={v:g}" for n, v in
                              zip(problem.param_names, problem.true_params, strict=True)),
            "min_loss": problem.minimum(),
            "condition_number": facts.condition_number,
            "gd_threshold": facts.gd_max_stable_learning_rate,
            "per_example_threshold": problem.max_stable_learning_rate_per_example(),
            "gd_optimal_lr": facts.gd_optimal_learning_rate,
            "hb_optimal": f"lr={best.learning_rate:.3g}, β={best.momentum:.4f}",
        })
    return rows
