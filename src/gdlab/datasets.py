r"""Real data with nothing downloaded: scikit-learn's bundled sets and the user's own files.

:func:`load` returns a :class:`Dataset`, split into train and test rows with a seeded
(and, for classification, stratified) shuffle, optionally standardised with the training
rows' statistics only (so nothing about the test rows leaks into the model).
:func:`dataset_problem` builds the matching problem, and :func:`standardization_effect`
shows why standardising matters to gradient descent: for least squares
:math:`L = \frac1n\lVert X\theta - y\rVert^2` the Hessian is :math:`H = \frac2n
X^\top X`, full-batch GD is stable for :math:`\gamma < 2/\lambda_{\max}(H)` and
converges at a rate set by :math:`\kappa = \lambda_{\max}/\lambda_{\min}`; features on
different scales (and uncentered features next to an intercept) make :math:`\kappa`
large.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdlab._validation import InvalidParameterError, check_bool, check_choice, check_float

BUNDLED = {
    "iris": ("load_iris", "classification"),
    "digits": ("load_digits", "classification"),
    "wine": ("load_wine", "classification"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}
"""scikit-learn's toy datasets, which ship inside the package: name -> (loader, task).
``diabetes`` is scikit-learn's default version, whose features are already centred and
scaled to unit Euclidean norm per column."""

MAX_CLASSES_INFERRED = 20
"""A file's integer target with at most this many distinct values is read as classes."""

PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test rows of one dataset.

    Attributes:
        name: the bundled name or the file's name.
        X_train, y_train, X_test, y_test: features (float64, ``(n, d)``) and targets
            (int labels ``0..K-1`` for classification, float64 for regression); the test
            arrays have zero rows when ``test_fraction`` was 0.
        feature_names: a name per column.
        target_name: the target's name.
        task: ``"classification"`` or ``"regression"``.
        classes: the original label of each class index (``None`` for regression).
        mean, scale: the training statistics used to standardise (``None`` if not
            standardised); raw features are ``X * scale + mean``.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    task: str
    classes: tuple | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    @property
    def num_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    @property
    def standardized(self) -> bool:
        return self.mean is not None

    def raw(self, X) -> np.ndarray:
        """Features in their original units (undo the standardisation, if any)."""
        return X if self.mean is None else X * self.scale + self.mean


def load(name_or_path, *, target: str | None = None, test_fraction: float = 0.25,
         standardize: bool = False, seed: int = 0, drop_missing: bool = False,
         task: str | None = None) -> Dataset:
    """A bundled dataset by name, or a CSV/Parquet file with a target column.

    Args:
        name_or_path: one of :data:`BUNDLED` (``"breast-cancer"`` also works), or a path
            to a ``.csv`` (comma-separated, header row) or ``.parquet``/``.pq`` file.
        target: the target column of a file (required for files).
        test_fraction: share of rows held out, in ``[0, 1)``; rounded to a whole number
            of rows (at least one when positive), per class for classification.
        standardize: centre and scale every feature by the *training* mean and standard
            deviation (a constant column is only centred: its scale is set to 1).
        seed: seed of the split (NumPy's PCG64): the same seed gives the same split.
        drop_missing: drop rows of a file with a missing value instead of refusing it.
        task: ``"classification"`` or ``"regression"`` for a file (default inferred:
            text, boolean, or integer targets with at most :data:`MAX_CLASSES_INFERRED`
            distinct values are classes).

    Returns:
        The :class:`Dataset`.

    Raises:
        InvalidParameterError: naming the parameter (or the file's column): an unknown
            name or missing file, an empty or non-tabular file, a missing target, a text
            feature column, rows with missing values (counted) without ``drop_missing``.

    Examples:
        >>> data = load("iris", seed=0)
        >>> data.X_train.shape, data.X_test.shape, data.classes
        ((114, 4), (36, 4), ('setosa', 'versicolor', 'virginica'))
    """
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0,
                                closed="left")
    standardize = check_bool("standardize", standardize)
    drop_missing = check_bool("drop_missing", drop_missing)
    if task is not None:
        task = check_choice("task", task, ("classification", "regression"))
    key = str(name_or_path).strip().lower().replace("-", "_")
    if not isinstance(name_or_path, Path) and key in BUNDLED:
        X, y, features, target_name, task, classes = _bundled(key)
        name = key
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise InvalidParameterError(
                "name_or_path", f"a bundled dataset ({', '.join(BUNDLED)}) or an existing "
                "CSV/Parquet file", str(name_or_path))
        X, y, features, target_name, task, classes = _from_file(path, target, task,
                                                                drop_missing)
        name = path.stem
    train, test = split_indices(y, test_fraction, seed, stratify=task == "classification")
    X_train, X_test = X[train], X[test]
    mean = scale = None
    if standardize:
        mean = X_train.mean(axis=0)
        spread = X_train.std(axis=0)
        # a constant column carries no information; dividing by 0 would make NaN
        scale = np.where(spread > 0, spread, 1.0)
        X_train, X_test = (X_train - mean) / scale, (X_test - mean) / scale
    return Dataset(name=name, X_train=X_train, y_train=y[train], X_test=X_test,
                   y_test=y[test], feature_names=features, target_name=target_name,
                   task=task, classes=classes, mean=mean, scale=scale)


def split_indices(y, test_fraction: float, seed: int, *, stratify: bool):
    """Train and test row indices of a seeded shuffle split.

    Stratified: each class puts ``round(test_fraction * n_c)`` of its rows in the test
    set (at least one when ``test_fraction > 0`` and the class has two rows or more, and
    never all of them), so both sets keep the classes' proportions. Otherwise
    ``round(test_fraction * n)`` rows (at least one, and never all). Both index arrays
    are in shuffled order.
    """
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    train, test = [], []
    for rows in groups:
        rows = rng.permutation(rows)
        count = int(round(test_fraction * rows.size))
        if test_fraction > 0:
            count = max(count, 1)
        count = min(count, rows.size - 1)
        test.append(rows[:count])
        train.append(rows[count:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _bundled(key: str):
    import sklearn.datasets

    loader, task = BUNDLED[key]
    bunch = getattr(sklearn.datasets, loader)()
    X = np.asarray(bunch.data, dtype=np.float64)
    features = tuple(str(f) for f in bunch.feature_names) if "feature_names" in bunch \
        else tuple(f"x{j}" for j in range(X.shape[1]))
    if task == "classification":
        y = np.asarray(bunch.target, dtype=np.int32)
        classes = tuple(v.item() if isinstance(v, np.generic) else v
                        for v in bunch.target_names)
        return X, y, features, "target", task, classes
    return X, np.asarray(bunch.target, dtype=np.float64), features, "target", task, None


def _read_table(path: Path):
    import pandas as pd

    if path.stat().st_size == 0:
        raise InvalidParameterError("name_or_path", "a CSV or Parquet file with a header "
                                    "row and at least one data row", f"{path.name}: an "
                                    "empty file")
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InvalidParameterError("name_or_path", "a CSV or Parquet file with a header "
                                    "row and at least one data row",
                                    f"{path.name}: an empty file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as error:
        # pyarrow's ArrowInvalid is a ValueError
        kind = "Parquet" if path.suffix.lower() in PARQUET_SUFFIXES else "CSV"
        raise InvalidParameterError("name_or_path", f"a table ({kind} with a header row)",
                                    f"{path.name}: not a table ({type(error).__name__})"
                                    ) from None
    if frame.shape[0] == 0 or frame.shape[1] < 2:
        raise InvalidParameterError(
            "name_or_path", "a table with a header row, a target and at least one feature "
            "column, and at least one data row",
            f"{path.name}: {frame.shape[0]} rows and {frame.shape[1]} columns")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _from_file(path: Path, target, task, drop_missing: bool):
    import pandas as pd

    frame = _read_table(path)
    columns = list(frame.columns)
    if target is None or str(target) not in columns:
        raise InvalidParameterError("target", f"a column of {path.name}: one of {columns}",
                                    target)
    target = str(target)
    missing = frame.isna().any(axis=1)
    if missing.any():
        count = int(missing.sum())
        if not drop_missing:
            first = int(np.flatnonzero(missing.to_numpy())[0]) + 2  # the header is line 1
            raise InvalidParameterError(
                "drop_missing", f"True to use {path.name}, which has {count} of "
                f"{len(frame)} rows with a missing value (the first at line {first})",
                False)
        frame = frame.loc[~missing]
        if frame.shape[0] == 0:
            raise InvalidParameterError("name_or_path", "a table with at least one row "
                                        "without missing values", f"{path.name}: none")
    features = [c for c in columns if c != target]
    for column in features:
        values = frame[column]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            example = next(v for v in values if not _is_number(v))
            raise InvalidParameterError(f'column "{column}" of {path.name}',
                                        "numbers (every feature must be numeric)",
                                        f"text such as {str(example)!r}")
    X = frame[features].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(X)):
        column = features[int(np.flatnonzero(~np.all(np.isfinite(X), axis=0))[0])]
        raise InvalidParameterError(f'column "{column}" of {path.name}',
                                    "finite numbers (no inf)", "inf")
    labels = frame[target]
    numeric = pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels)
    if task is None:
        whole = numeric and bool(np.all(np.asarray(labels, dtype=np.float64)
                                        == np.round(np.asarray(labels, dtype=np.float64))))
        few = labels.nunique() <= MAX_CLASSES_INFERRED
        task = "regression" if numeric and not (whole and few) else "classification"
    if task == "regression":
        if not numeric:
            raise InvalidParameterError(f'target column "{target}" of {path.name}',
                                        "numbers for a regression target", "text")
        y = labels.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise InvalidParameterError(f'target column "{target}" of {path.name}',
                                        "finite numbers (no inf)", "inf")
        return X, y, tuple(features), target, task, None
    classes, y = np.unique(labels.to_numpy(), return_inverse=True)
    if classes.size < 2:
        raise InvalidParameterError(f'target column "{target}" of {path.name}',
                                    "at least two classes", f"one class, {classes[0]!r}")
    classes = tuple(c.item() if isinstance(c, np.generic) else c for c in classes)
    return X, y.astype(np.int32), tuple(features), target, task, classes


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
