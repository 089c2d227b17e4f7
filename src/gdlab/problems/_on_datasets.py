"""Classifiers and networks on a dataset, as the registry builds them by name.

``gdlab.problem("softmax", dataset="iris")`` loads a bundled dataset (or a CSV/Parquet
file with ``target=``), splits it with ``seed`` (a quarter held out by default),
standardizes the features on the training rows, and builds the problem on the training
rows with the held-out rows kept for :meth:`~gdlab.problems.Problem.metrics`.
"""

from __future__ import annotations

from gdlab._validation import InvalidParameterError, check_int
from gdlab.problems._base import Problem


def _problem(kind, dataset, target, test_fraction, standardize, split_seed,
             **settings) -> Problem:
    from gdlab.datasets import dataset_problem, load  # datasets builds problems: lazily

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
    from gdlab.datasets import load, standardization_effect

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
