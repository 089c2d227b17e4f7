"""Classifiers and networks on a dataset, as the registry builds them by name.

``gdlab.problem("softmax", dataset="iris")`` loads a bundled dataset (or a CSV/Parquet
file with ``target=``), splits it with ``seed`` (a quarter held out by default),
standardizes the features on the training rows, and builds the problem on the training
rows with the held-out rows kept for :meth:`~gdlab.problems.Problem.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdlab._validation import InvalidParameterError, check_choice, check_int
from gdlab.datasets import load
from gdlab.problems._base import Problem
from gdlab.problems._classifiers import logistic_regression, softmax_regression
from gdlab.problems._least_squares import linear_regression
from gdlab.problems._mlp import mlp


def _problem(kind, dataset, target, test_fraction, standardize, split_seed,
             **settings) -> Problem:
    chosen = load(dataset, target=target, test_fraction=test_fraction,
                  standardize=standardize, seed=split_seed)
    return dataset_problem(chosen, kind, **settings)


def regression_on_dataset(dataset: str = "diabetes", *, fit_intercept: bool = True,
                          standardize: bool = True, test_fraction: float = 0.25,
                          target: str | None = None, seed: int = 0) -> Problem:
    """Linear least squares (mean squared error, no factor 1/2) on a regression dataset,
    features standardized on the training rows by default."""
    return _problem("linear", dataset, target, test_fraction, standardize, seed,
                    fit_intercept=fit_intercept)


def standardization_rows(dataset: str, *, target: str | None = None,
                         test_fraction: float = 0.25, seed: int = 0) -> list[tuple[str, str]]:
    """What standardizing the features does to least squares on ``dataset`` (its
    training rows): the condition number and the largest stable GD learning rate,
    before and after, as table rows."""
    effect = standardization_effect(load(dataset, target=target, test_fraction=test_fraction,
                                         seed=seed))
    return [("condition number, raw → standardized features",
             f"{effect.condition_before:.4g} → {effect.condition_after:.4g}"),
            ("GD stability threshold 2/λmax, raw → standardized",
             f"{effect.max_learning_rate_before:.4g} → {effect.max_learning_rate_after:.4g}")]


def logistic_on_dataset(dataset: str = "breast_cancer", *, l2: float = 0.0,
                        fit_intercept: bool = True, standardize: bool = True,
                        test_fraction: float = 0.25, target: str | None = None,
                        seed: int = 0) -> Problem:
    """Binary logistic regression on ``dataset`` (two classes), features standardized.

    Examples:
        >>> problem = logistic_on_dataset()
        >>> problem.layout[0][0], problem.num_examples
        ('W', 427)
    """
    return _problem("logistic", dataset, target, test_fraction, standardize, seed, l2=l2,
                    fit_intercept=fit_intercept)


def softmax_on_dataset(dataset: str = "iris", *, l2: float = 0.0, fit_intercept: bool = True,
                       standardize: bool = True, test_fraction: float = 0.25,
                       target: str | None = None, seed: int = 0) -> Problem:
    """Softmax (multinomial logistic) regression on ``dataset``, features standardized."""
    return _problem("softmax", dataset, target, test_fraction, standardize, seed, l2=l2,
                    fit_intercept=fit_intercept)


def mlp_on_dataset(dataset: str = "digits", *, hidden: tuple = (32,), activation: str = "tanh",
                   l2: float = 0.0, standardize: bool = True, test_fraction: float = 0.25,
                   target: str | None = None, seed: int = 0) -> Problem:
    """A multi-layer perceptron on ``dataset`` (classification or regression, as the
    dataset's task), initialised with ``seed``; ``hidden`` gives the hidden widths."""
    if isinstance(hidden, int | float):
        hidden = (hidden,)
    try:
        widths = tuple(check_int("hidden", width, low=1, high=100_000) for width in hidden)
    except TypeError:
        raise InvalidParameterError("hidden", "widths >= 1, e.g. 32,32", hidden) from None
    return _problem("mlp", dataset, target, test_fraction, standardize, seed, hidden=widths,
                    activation=activation, l2=l2, seed=seed)


def dataset_problem(dataset, kind: str, **settings):
    """The problem of ``kind`` on the dataset's training rows, with its test rows held out.

    Args:
        dataset: from :func:`load`.
        kind: ``"logistic"`` (two classes), ``"softmax"`` (classes), ``"linear"``
            (regression: :func:`gdlab.linear_regression`) or ``"mlp"`` (either task).
        **settings: passed to the factory (``l2``, ``fit_intercept``, ``hidden``...).

    Returns:
        The problem, named after the dataset.

    Examples:
        >>> from gdlab.datasets import load
        >>> problem = dataset_problem(load("iris"), "softmax", l2=0.01)
        >>> problem.layout
        (('W', (4, 3)), ('b', (3,)))
    """

    kind = check_choice("kind", kind, ("logistic", "softmax", "linear", "mlp"))
    held_out = {}
    if dataset.X_test.shape[0]:
        held_out = {"X_test": dataset.X_test, "y_test": dataset.y_test}
    name = f"{dataset.name}-{kind}"
    if kind == "linear":
        if dataset.task != "regression":
            raise InvalidParameterError("kind", f"one of 'logistic', 'softmax', 'mlp' for "
                                        f"the classification dataset {dataset.name!r}", kind)
        return linear_regression(dataset.X_train, dataset.y_train, name=name,
                                 feature_names=_unique_names(dataset.feature_names),
                                 target_name=dataset.target_name, **settings)
    if kind == "mlp":
        if dataset.task == "classification":
            settings.setdefault("num_classes", dataset.num_classes)
        return mlp(dataset.X_train, dataset.y_train, task=dataset.task, name=name,
                   **held_out, **settings)
    if dataset.task != "classification":
        raise InvalidParameterError("kind", f"one of 'linear', 'mlp' for the regression "
                                    f"dataset {dataset.name!r}", kind)
    if kind == "logistic":
        if dataset.num_classes != 2:
            raise InvalidParameterError("kind", f"'softmax' or 'mlp' for {dataset.name!r}, "
                                        f"which has {dataset.num_classes} classes "
                                        "(logistic needs two)", kind)
        return logistic_regression(dataset.X_train, dataset.y_train, name=name, **held_out,
                                   **settings)
    settings.setdefault("num_classes", dataset.num_classes)
    return softmax_regression(dataset.X_train, dataset.y_train, name=name, **held_out,
                              **settings)


def _unique_names(names) -> tuple[str, ...] | None:
    names = tuple(str(n) for n in names)
    return names if len(set(names)) == len(names) and all(names) else None


@dataclass(frozen=True)
class StandardizationEffect:
    """Least squares on the raw and on the standardised training features.

    Attributes:
        condition_before, condition_after: :math:`\\kappa(H)` of
            :math:`H = \\frac2n \\tilde X^\\top \\tilde X` (``\\tilde X`` with the
            intercept column when one is fitted).
        max_learning_rate_before, max_learning_rate_after: :math:`2/\\lambda_{\\max}(H)`,
            the largest stable full-batch GD learning rate.
    """

    condition_before: float
    condition_after: float
    max_learning_rate_before: float
    max_learning_rate_after: float


def standardization_effect(dataset, *, fit_intercept: bool = True
                           ) -> StandardizationEffect:
    """What standardising the training features does to linear regression's curvature.

    The least-squares Hessian depends on the features only, so the numbers hold for any
    target; for a classification dataset they describe least squares on the same design
    (logistic regression's Hessian is bounded by the same matrix times 1/8). The "before"
    problem uses the raw training features (undoing the dataset's standardisation if it
    has one); the "after" problem standardises them with their own mean and deviation.

    Examples:
        >>> from gdlab.datasets import load
        >>> effect = standardization_effect(load("wine"))
        >>> effect.condition_after < effect.condition_before
        True
    """
    raw = dataset.raw(dataset.X_train)
    spread = raw.std(axis=0)
    standardized = (raw - raw.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    targets = np.asarray(dataset.y_train, dtype=np.float64)
    before = linear_regression(raw, targets, fit_intercept=fit_intercept)
    after = linear_regression(standardized, targets, fit_intercept=fit_intercept)
    return StandardizationEffect(
        condition_before=float(before.condition_number()),
        condition_after=float(after.condition_number()),
        max_learning_rate_before=float(before.max_stable_learning_rate()),
        max_learning_rate_after=float(after.max_stable_learning_rate()))
