"""Datasets: bundled sets against scikit-learn, the seeded stratified split, train-only
standardisation, file validation, the matching problems, and what standardising does to
linear regression's curvature."""

import numpy as np
import pandas as pd
import pytest
import sklearn.datasets
from sklearn.linear_model import LinearRegression

import gdlab
from gdlab import InvalidParameterError
from gdlab.datasets import BUNDLED, load
from gdlab.problems._on_datasets import dataset_problem, standardization_effect

SIZES = {"iris": (150, 4, 3), "digits": (1797, 64, 10), "wine": (178, 13, 3),
         "breast_cancer": (569, 30, 2), "diabetes": (442, 10, None)}


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_sets_hold_sklearns_rows_and_classes(name):
    X, y = getattr(sklearn.datasets, BUNDLED[name][0])(return_X_y=True)
    data = load(name, test_fraction=0.25, seed=0)
    n, d, k = SIZES[name]
    assert X.shape == (n, d)
    assert data.X_train.shape[0] + data.X_test.shape[0] == n and data.X_train.shape[1] == d
    assert data.num_classes == k
    # the split is a permutation of sklearn's rows, each with its own target
    rows = np.column_stack([np.vstack([data.X_train, data.X_test]),
                            np.concatenate([data.y_train, data.y_test])])
    expected = np.column_stack([X, y])
    order = np.lexsort(rows.T[::-1])
    np.testing.assert_array_equal(rows[order], expected[np.lexsort(expected.T[::-1])])


def test_split_is_seeded_and_stratified():
    a, b, c = load("wine", seed=3), load("wine", seed=3), load("wine", seed=4)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)
    _, y = sklearn.datasets.load_wine(return_X_y=True)
    for label in range(3):
        count = int(np.sum(y == label))
        assert np.sum(a.y_test == label) == round(0.25 * count)
        assert np.sum(a.y_train == label) == count - round(0.25 * count)
    assert load("iris", test_fraction=0.0).X_test.shape == (0, 4)


def test_standardisation_uses_training_statistics_only():
    raw = load("wine", seed=1)
    data = load("wine", seed=1, standardize=True)
    mean, std = raw.X_train.mean(axis=0), raw.X_train.std(axis=0)
    np.testing.assert_allclose(data.X_train, (raw.X_train - mean) / std, rtol=1e-12)
    np.testing.assert_allclose(data.X_test, (raw.X_test - mean) / std, rtol=1e-12)
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0.0, atol=1e-12)
    assert np.all(np.abs(data.X_test.mean(axis=0)) > 1e-6)  # the test rows' own mean is not 0
    np.testing.assert_allclose(data.raw(data.X_test), raw.X_test, rtol=1e-12)
    # digits has constant (all-zero) pixels: centred, not divided by 0
    assert np.all(np.isfinite(load("digits", standardize=True).X_train))


def _hessian_numbers(X, fit_intercept=True):
    design = np.column_stack([X, np.ones(len(X))]) if fit_intercept else X
    eigenvalues = np.linalg.eigvalsh(2.0 / len(X) * design.T @ design)
    return eigenvalues[-1] / eigenvalues[0], 2.0 / eigenvalues[-1]


@pytest.mark.parametrize("name", ["diabetes", "wine"])
def test_standardisation_lowers_the_condition_number(name):
    data = load(name, seed=0)
    effect = standardization_effect(data)
    X = data.X_train
    kappa_before, lr_before = _hessian_numbers(X)
    kappa_after, lr_after = _hessian_numbers((X - X.mean(axis=0)) / X.std(axis=0))
    assert effect.condition_before == pytest.approx(kappa_before, rel=1e-6)
    assert effect.condition_after == pytest.approx(kappa_after, rel=1e-6)
    assert effect.max_learning_rate_before == pytest.approx(lr_before, rel=1e-10)
    assert effect.max_learning_rate_after == pytest.approx(lr_after, rel=1e-10)
    assert effect.condition_after < effect.condition_before / 50
    # an already standardised dataset reports the same numbers (it undoes its scaling)
    again = standardization_effect(load(name, seed=0, standardize=True))
    assert again.condition_before == pytest.approx(effect.condition_before, rel=1e-6)


def test_linear_regression_on_diabetes_matches_sklearn():
    data = load("diabetes", test_fraction=0.0)
    ref = LinearRegression().fit(data.X_train, data.y_train)
    problem = dataset_problem(data, "linear")
    np.testing.assert_allclose(problem.minimizer()[:-1], ref.coef_, rtol=1e-8)
    assert problem.minimizer()[-1] == pytest.approx(ref.intercept_, rel=1e-10)
    # gradient descent on the standardised features, at the optimal constant step
    # 2 / (lambda_min + lambda_max): error factor (kappa - 1)/(kappa + 1) per step
    scaled = load("diabetes", test_fraction=0.0, standardize=True)
    problem = dataset_problem(scaled, "linear")
    eig = problem.hessian_eigenvalues()
    rate = 2.0 / (eig[0] + eig[-1])
    trajectory = gdlab.run(problem, gdlab.optimizer("sgd", learning_rate=rate),
                           num_steps=8000)
    coef = trajectory.final_params[:-1] / scaled.scale  # back to raw units
    intercept = trajectory.final_params[-1] - coef @ scaled.mean
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-6)
    assert intercept == pytest.approx(ref.intercept_, rel=1e-8)


def test_dataset_problem_builds_the_matching_problem():
    data = load("breast_cancer", standardize=True)
    logistic = dataset_problem(data, "logistic", l2=0.01)
    assert logistic.layout == (("W", (30,)), ("b", ()))
    assert {"accuracy", "test_accuracy", "test_loss"} <= set(logistic.metrics(
        logistic.init_params))
    iris = load("iris")
    assert dataset_problem(iris, "mlp", hidden=(4,)).sizes == (4, 4, 3)
    for dataset, kind in ((iris, "logistic"), (iris, "linear"), (load("diabetes"), "softmax"),
                          (iris, "svm")):
        with pytest.raises(InvalidParameterError) as error:
            dataset_problem(dataset, kind)
        assert error.value.parameter == "kind"


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return path


def test_a_csv_and_a_parquet_file_load_with_their_target(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.integers(0, 9, 40),
                          "label": rng.choice(["cat", "dog"], 40)})
    frame.to_csv(tmp_path / "pets.csv", index=False)
    frame.to_parquet(tmp_path / "pets.parquet")
    for file in ("pets.csv", "pets.parquet"):
        data = load(tmp_path / file, target="label", test_fraction=0.0)
        assert data.task == "classification" and data.classes == ("cat", "dog")
        assert data.feature_names == ("a", "b")
        order = np.lexsort(data.X_train.T[::-1])
        expected = frame[["a", "b"]].to_numpy()
        np.testing.assert_allclose(data.X_train[order],
                                   expected[np.lexsort(expected.T[::-1])], rtol=1e-15)
    frame[["a", "b"]].to_csv(tmp_path / "numbers.csv", index=False)
    regression = load(tmp_path / "numbers.csv", target="a")
    assert regression.task == "regression" and regression.classes is None
    assert load(tmp_path / "numbers.csv", target="b").task == "classification"  # 9 ints


@pytest.mark.parametrize("content, kwargs, parameter, words", [
    ("x,y\n1,2\n3,4\n", {"target": "z"}, "target", "one of ['x', 'y']"),
    ("x,y\n1,2\n3,4\n", {}, "target", "one of ['x', 'y']"),
    ("x,name,y\n1,ann,2\n3,bob,4\n", {"target": "y"}, 'column "name" of data.csv', "'ann'"),
    ("x,y\n1,\n,4\n5,6\n7,8\n", {"target": "y"}, "drop_missing", "2 of 4 rows"),
    ("", {"target": "y"}, "name_or_path", "empty file"),
    ("x,y\n", {"target": "y"}, "name_or_path", "0 rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", {"target": "y"}, "name_or_path",
     "not a table"),
])
def test_bad_files_are_refused_naming_the_parameter(tmp_path, content, kwargs, parameter,
                                                   words):
    path = _write(tmp_path, content)
    with pytest.raises(InvalidParameterError) as error:
        load(path, **kwargs)
    assert error.value.parameter == parameter
    assert words in str(error.value)


def test_missing_rows_are_dropped_when_asked_and_other_bad_sources(tmp_path):
    path = _write(tmp_path, "x,y\n1,\n,4\n5,6\n7,8\n9,10\n")
    data = load(path, target="y", drop_missing=True, test_fraction=0.0)
    np.testing.assert_array_equal(np.sort(data.X_train[:, 0]), [5.0, 7.0, 9.0])
    bad_parquet = _write(tmp_path, "x,y\n1,2\n", name="fake.parquet")
    with pytest.raises(InvalidParameterError, match="not a table"):
        load(bad_parquet, target="y")
    with pytest.raises(InvalidParameterError) as error:
        load(tmp_path / "absent.csv", target="y")
    assert error.value.parameter == "name_or_path"
    with pytest.raises(InvalidParameterError) as error:
        load("iris", test_fraction=1.0)
    assert error.value.parameter == "test_fraction"
