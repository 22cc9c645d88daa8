"""search: candidates from the space, each cross-validated as a whole pipeline, best first."""
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline

from tabular_mlops.models.families import build_estimator
from tabular_mlops.config.params import FeaturizeParams
from tabular_mlops.features.preprocessing import build_preprocessor
from tabular_mlops.models.search import candidates, search
from tabular_mlops.config.train_params import RandomForestParams, RidgeParams, SearchParams

FEATURIZE = FeaturizeParams.model_validate(
    {
        "numeric": {"impute": "median", "add_indicator": True, "transform": "none", "scale": "standard",
                    "outliers": {"method": "none", "iqr_factor": 3.0, "quantiles": [0.01, 0.99]}},
        "categorical": {"impute": "most_frequent", "min_frequency": None},
    }
)
FOREST = RandomForestParams(n_estimators=5, max_depth=None, min_samples_leaf=1, max_features=0.5, n_jobs=1)
SPACE = {
    "random_forest": {"min_samples_leaf": [1, 3, 10, 30], "max_features": [0.3, 0.6, 0.9]},
    "ridge": {"alpha": [0.001, 1e6]},
}


def as_set(drawn) -> set:
    return {tuple(sorted(candidate.items())) for candidate in drawn}


def search_params(method: str = "grid", n_iter: int = 8, n_jobs: int = 1, space=None) -> SearchParams:
    return SearchParams(method=method, n_iter=n_iter, cv_folds=3, n_jobs=n_jobs, space=SPACE if space is None else space)


def make_pipeline_for(task: str, family: str, seed: int = 0):
    def make(spec):
        preprocessor = build_preprocessor(["Income", "Age"], ["Home"], FEATURIZE)
        return Pipeline([("preprocess", preprocessor), ("model", build_estimator(task, family, spec, seed))])
    return make


def frame(n: int = 45, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Inputs, a 0/1 target and a numeric target, both driven by Income."""
    rng = np.random.default_rng(seed)
    income = rng.normal(100, 30, n)
    inputs = pd.DataFrame({"Income": income, "Age": rng.integers(20, 60, n).astype(float), "Home": rng.choice(["rent", "owner"], n)})
    label = pd.Series((income + rng.normal(0, 15, n) > 100).astype(int), name="Status")
    value = pd.Series(2 * income + rng.normal(0, 5, n), name="Price")
    return inputs, label, value


# --- candidates ---

def test_grid_enumerates_every_combination_of_the_space():
    drawn = candidates(search_params("grid"), "random_forest", seed=0)
    assert len(drawn) == 12
    assert as_set(drawn) == as_set(ParameterGrid(SPACE["random_forest"]))


@pytest.mark.parametrize("n_iter, expected", [(5, 5), (12, 12), (50, 12)])
def test_random_draws_n_iter_distinct_candidates_but_never_more_than_the_grid_holds(n_iter, expected):
    drawn = candidates(search_params("random", n_iter=n_iter), "random_forest", seed=0)
    assert len(drawn) == len(as_set(drawn)) == expected
    assert as_set(drawn) <= as_set(ParameterGrid(SPACE["random_forest"]))


def test_random_draws_are_the_same_for_the_same_seed_and_differ_for_another():
    spec = search_params("random", n_iter=4)
    assert candidates(spec, "random_forest", seed=7) == candidates(spec, "random_forest", seed=7)
    assert candidates(spec, "random_forest", seed=7) != candidates(spec, "random_forest", seed=8)


def test_family_without_a_space_has_one_candidate_its_current_params():
    assert candidates(search_params("grid"), "mlp", seed=0) == [{}]
    assert candidates(search_params("random"), "mlp", seed=0) == [{}]


# --- search ---

def test_lower_rmse_ranks_first_and_its_params_are_returned():
    inputs, _, value = frame()
    best, rows = search("regression", search_params(), RidgeParams(alpha=1.0), "ridge", make_pipeline_for("regression", "ridge"), inputs, value, seed=0)
    assert best == RidgeParams(alpha=0.001)
    # alpha 1e6 shrinks every coefficient to nothing: its error is the target's spread.
    assert [row["params"] for row in rows] == [{"alpha": 0.001}, {"alpha": 1e6}]
    assert [row["rank"] for row in rows] == [1, 2]
    assert rows[0]["mean"] < rows[1]["mean"]
    assert [row["candidate"] for row in rows] == [0, 1]


def test_higher_roc_auc_ranks_first_and_untouched_params_are_kept():
    inputs, label, _ = frame()
    # A leaf of 1000 rows cannot split 30 training rows: a constant score, ROC-AUC 0.5.
    space = {"random_forest": {"min_samples_leaf": [1000, 2]}}
    best, rows = search("classification", search_params(space=space), FOREST, "random_forest",
                        make_pipeline_for("classification", "random_forest"), inputs, label, seed=0)
    assert best == FOREST.model_copy(update={"min_samples_leaf": 2})
    assert [row["params"] for row in rows] == [{"min_samples_leaf": 2}, {"min_samples_leaf": 1000}]
    assert rows[0]["mean"] > rows[1]["mean"] == 0.5
    assert [row["candidate"] for row in rows] == [1, 0]
    assert set(rows[0]) == {"candidate", "params", "mean", "std", "rank"}


def test_search_with_the_same_seed_gives_identical_results_with_n_jobs_1_and_2():
    inputs, label, _ = frame()
    space = {"random_forest": {"min_samples_leaf": [1, 4], "max_features": [0.4, 0.9]}}

    def run(n_jobs):
        return search("classification", search_params("random", n_iter=3, n_jobs=n_jobs, space=space), FOREST, "random_forest",
                      make_pipeline_for("classification", "random_forest", seed=5), inputs, label, seed=5)

    one, two = run(1), run(2)
    assert one == two
    assert len(one[1]) == 3 and len({row["mean"] for row in one[1]}) > 1  # the candidates really differ
