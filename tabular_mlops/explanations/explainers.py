"""build_explainer: the SHAP explainer for a fitted pipeline's estimator, on the preprocessor's output;
transformed_contributions: its SHAP values per transformed column, which contributions.explain sums.

SHAP explainers take the fitted estimator, not our Pipeline, so the estimator is explained on
the preprocessor's output and each transformed column's share is summed back to its raw column
(sources.py).

Each family says how it is explained (its `Explanation`, tabular_mlops/families/):

| method         | SHAP explainer                              | families                                         |
|----------------|---------------------------------------------|--------------------------------------------------|
| tree           | TreeExplainer, tree_path_dependent          | random_forest, hist_gradient_boosting, lightgbm  |
| linear         | LinearExplainer, interventional             | logistic_regression, linear_regression, ridge    |
| constant       | none: every contribution is 0               | dummy                                            |
| model_agnostic | ExactExplainer when 2**columns <= MAX_EVALS, else PermutationExplainer | mlp, linear_svm (calibrated); any wrapper, e.g. a fairness mitigation |

The output space is `value` for a regressor; for a classifier, the family's: `log_odds` for
logistic_regression, hist_gradient_boosting and lightgbm, `probability` for the others.

base_value is the mean output over the background rows, except for trees: the mean over the
training rows as the trees' leaf counts record them.

Trees are tree_path_dependent, not interventional, because SHAP 0.51's interventional code
stores split thresholds as float32 and node numbers as 16-bit integers: a row whose float64
value lies on a gradient-boosting split (they sit on training values) went the wrong way and
its contributions missed the model's margin by 0.24 (SHAP's additivity check raised), and a tree
of more than 32,767 nodes (a full-depth forest on a large table) would overflow. The path-
dependent code compares in float64 and reproduces the model's output to 1e-14; it explains
the raw output only, which is the space we want (a forest's probability, boosting's margin);
it needs no background and costs well under a millisecond a row.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from tabular_mlops.errors import StageError
from tabular_mlops.explanations.outputs import array_output, model_output, output_space
from tabular_mlops.explanations.randomness import seeded_global_numpy
from tabular_mlops.families.registry import explanation_for
from tabular_mlops.features.sources import column_positions, input_columns, transformed_sources

TASKS = ("classification", "regression")
BACKGROUND_ROWS = 100  # at most this many background rows: the approximate methods' cost grows linearly with them
# Model evaluations (each on every background row) per row for the approximate methods. With 20
# transformed columns and 100 background rows (6 antithetic passes): 10 ms (MLP) to 40 ms (calibrated
# linear SVM, three models) a row besides preprocessing, and contributions within 2 to 5% (mean
# absolute error over mean absolute contribution) of those from 20,000 evaluations; 512 halves the
# error and doubles the time. pytest tests/test_explanations.py -k latency -s prints the times.
MAX_EVALS = 256


@dataclass(frozen=True)
class Explainer:
    """What explain() needs: the model, how to explain its estimator, and where the numbers live."""

    model: Pipeline
    method: str              # tree | linear | exact | permutation | constant
    output_space: str        # log_odds | probability | value
    base_value: float        # the mean output (in output_space) the contributions start from
    columns: list[str]       # the raw input columns that get a contribution
    positions: tuple[np.ndarray, ...]  # per raw column, the transformed columns it produced
    background: pd.DataFrame  # the raw background rows used (at most BACKGROUND_ROWS; trees need none)
    seed: int                # the permutation explainer's orderings; nothing else is random
    engine: Any = None       # the SHAP explainer (None for constant)


def build_explainer(model: Pipeline, background: pd.DataFrame, task: str, seed: int) -> Explainer:
    """Explain `model[-1]` on `model[0]`'s output against `background` (raw rows, e.g. training rows).

    A larger background is cut to BACKGROUND_ROWS evenly spaced rows: no draw, so the seed
    changes the permutation explainer's orderings and nothing else. The exact and permutation
    explainers explain one background row here: SHAP compiles their numba code on first use
    (5 to 12 s, once per process), and that belongs at start-up, not in the first request.
    """
    preprocessor, estimator = _checked_steps(model, task)
    if len(background) == 0:
        raise StageError("explanations: the background has no rows; pass some training rows (100 are enough)")
    spaced = np.linspace(0, len(background) - 1, min(len(background), BACKGROUND_ROWS)).round().astype(int)
    rows = background.iloc[spaced]
    transformed = preprocessor.transform(rows)
    method = _method(estimator, transformed.shape[1])
    space = output_space(estimator, task)
    columns = input_columns(preprocessor)
    positions = column_positions(transformed_sources(preprocessor), columns)
    engine, base = _engine(method, estimator, space, transformed, seed)
    explainer = Explainer(model, method, space, float(base), columns, positions, rows, seed, engine)
    if method in ("exact", "permutation"):  # one row through SHAP now: its numba code compiles here
        transformed_contributions(explainer, preprocessor.transform(rows.iloc[:1]))
    return explainer


def _checked_steps(model: Pipeline, task: str):
    if task not in TASKS:
        raise StageError(f"explanations: task must be one of {', '.join(TASKS)}; got {task!r}")
    if not isinstance(model, Pipeline) or len(model) != 2 or not isinstance(model[0], ColumnTransformer):
        raise StageError("explanations: the model must be a fitted Pipeline([('preprocess', ColumnTransformer), ('model', estimator)])")
    estimator = model[-1]
    if is_classifier(estimator) != (task == "classification"):
        raise StageError(f"explanations: task is {task!r} but the model's estimator is a {type(estimator).__name__}")
    classes = np.asarray(getattr(estimator, "classes_", [])).tolist()
    if task == "classification" and classes != [0, 1]:
        raise StageError(f"explanations: a classifier must have classes [0, 1] (binary, class 1 explained); got {classes}")
    if getattr(estimator, "is_categorical_", None) is not None and estimator.is_categorical_.any():
        # SHAP reads a gradient-boosting tree's numeric thresholds only, not its category sets
        raise StageError("explanations: gradient boosting with native categorical splits cannot be explained; "
                         "one-hot encode the categorical columns")
    return model[0], estimator


def _method(estimator, n_transformed: int) -> str:
    method = explanation_for(estimator).method
    if method != "model_agnostic":
        return method
    # Every coalition costs no more than the permutation budget: then the exact values are as cheap.
    return "exact" if 2 ** n_transformed <= MAX_EVALS else "permutation"


def _engine(method: str, estimator, space: str, transformed: pd.DataFrame, seed: int) -> tuple[Any, float]:
    """The SHAP explainer and the base value."""
    if method == "constant":
        return None, model_output(estimator, space, transformed).mean()
    import shap  # here: importing shap takes about 2 s, and reason codes do not need it

    if method == "tree":
        engine = shap.TreeExplainer(estimator, feature_perturbation="tree_path_dependent", model_output="raw")
        expected = np.atleast_1d(engine.expected_value)
        return engine, expected[1] if len(expected) == 2 else expected[0]  # a forest classifier: class 1
    # max_samples: the background was sampled above; SHAP must not sample it again.
    masker = shap.maskers.Independent(transformed.to_numpy(dtype=np.float64), max_samples=len(transformed))
    if method == "linear":
        engine = shap.LinearExplainer(estimator, masker)
        return engine, np.ravel(engine.expected_value)[0]
    predict = partial(array_output, estimator, space)
    with seeded_global_numpy(seed):  # PermutationExplainer seeds numpy's global generator when built
        engine = shap.ExactExplainer(predict, masker) if method == "exact" else shap.PermutationExplainer(predict, masker, seed=seed)
    return engine, predict(transformed.to_numpy()).mean()


def transformed_contributions(explainer: Explainer, transformed: pd.DataFrame) -> np.ndarray:
    """(rows x transformed columns) SHAP values of the estimator, for class 1 of a classifier."""
    values = transformed.to_numpy(dtype=np.float64)
    if explainer.method == "constant":
        return np.zeros_like(values)
    if explainer.method == "tree":
        # from_call: silences SHAP's notice, on every call for a LightGBM classifier, that its output
        # format changed; it changes nothing else
        shap_values = np.asarray(explainer.engine.shap_values(values, check_additivity=True, from_call=True))
        return shap_values[..., 1] if shap_values.ndim == 3 else shap_values  # a forest classifier: class 1
    if explainer.method == "linear":
        return np.asarray(explainer.engine.shap_values(values))
    if explainer.method == "exact":
        with seeded_global_numpy(explainer.seed):  # draws nothing, but its model calls swap warning filters
            return explainer.engine(values, max_evals=2 ** values.shape[1], silent=True).values
    # One row at a time, each from the same seed: a row's explanation does not depend on which
    # rows share its request. At least one pass forward and back through every column.
    budget = max(MAX_EVALS, 2 * values.shape[1] + 1)
    explained = []
    for row in values:
        with seeded_global_numpy(explainer.seed):
            explained.append(explainer.engine(row[None, :], max_evals=budget, silent=True).values[0])
    return np.vstack(explained)
