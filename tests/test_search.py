"""search: candidates from the space, each cross-validated as a whole pipeline, best first."""
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline

from tabular_mlops.families.registry import build_estimator
from tabular_mlops.config.params import FeaturizeParams
from tabular_mlops.features.preprocessing import build_preprocessor
from tabular_mlops.models.search import candidates, search
from tabular_mlops.config.train_params import SearchParams
from tabular_mlops.families.random_forest import RandomForestParams
from tabular_mlops.families.ridge import RidgeParams

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
    assert candidates(search_params("grid"), "linear_regression", seed=0) == [{}]
    assert candidates(search_params("random"), "dummy", seed=0) == [{}]


def test_a_family_that_params_gives_no_space_is_searched_over_its_own_default_space():
    # train.search.space lists random_forest and ridge only; mlp's module holds a default space
    assert candidates(search_params("grid"), "mlp", seed=0) == list(ParameterGrid(
        {"alpha": [0.0001, 0.01, 1.0], "hidden_layer_sizes": [[16], [64, 32]]}))
    assert candidates(search_params("grid", space={"mlp": {"alpha": [0.5]}}), "mlp", seed=0) == [{"alpha": 0.5}]


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


# --- successive halving ---

def halving_frame(n: int = 240, seed: int = 0):
    rng = np.random.default_rng(seed)
    income = rng.normal(100, 30, n)
    inputs = pd.DataFrame({"Income": income, "Age": rng.integers(20, 60, n).astype(float), "Home": rng.choice(["rent", "owner"], n)})
    return inputs, pd.Series((income + rng.normal(0, 15, n) > 100).astype(int), name="Status")


def run_halving(seed: int = 0):
    inputs, label = halving_frame()
    space = {"random_forest": {"min_samples_leaf": [1, 3, 10, 1000], "max_features": [0.3, 0.9]}}
    return search("classification", search_params("halving", n_iter=6, space=space), FOREST, "random_forest",
                  make_pipeline_for("classification", "random_forest", seed=seed), inputs, label, seed=seed)


def test_halving_races_the_random_candidates_and_only_the_best_reach_every_row():
    best, rows = run_halving()
    drawn = candidates(search_params("halving", n_iter=6, space={"random_forest": {"min_samples_leaf": [1, 3, 10, 1000], "max_features": [0.3, 0.9]}}),
                       "random_forest", seed=0)
    assert sorted(row["candidate"] for row in rows) == list(range(6))
    assert [row["params"] for row in sorted(rows, key=lambda row: row["candidate"])] == drawn
    # 6 candidates, factor 3: two rounds, all six on 240 // 3 = 80 rows, the best two on all 240
    assert sorted(row["rounds"] for row in rows) == [1, 1, 1, 1, 2, 2]
    assert {row["rows"] for row in rows if row["rounds"] == 2} == {240} and {row["rows"] for row in rows if row["rounds"] == 1} == {80}
    assert [row["rank"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["rounds"] == rows[1]["rounds"] == 2 and rows[0]["mean"] >= rows[1]["mean"]
    assert best == FOREST.model_copy(update=rows[0]["params"])
    # a leaf of 1000 rows cannot split 240: it never goes on to the last round
    assert all(row["rounds"] == 1 for row in rows if row["params"]["min_samples_leaf"] == 1000)


def test_halving_best_and_its_score_are_those_of_scikit_learns_own_halving_search_run_directly():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, StratifiedKFold
    from tabular_mlops.models.search import _CandidateClassifier

    inputs, label = halving_frame()
    best, rows = run_halving()
    drawn = [row["params"] for row in sorted(rows, key=lambda row: row["candidate"])]
    make = make_pipeline_for("classification", "random_forest", seed=0)
    race = HalvingRandomSearchCV(_CandidateClassifier(make, FOREST, {}), {"params": drawn}, n_candidates=6, factor=3,
                                 min_resources="exhaust", cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="roc_auc",
                                 refit=False, random_state=0).fit(inputs, label)
    assert race.best_params_["params"] == rows[0]["params"] and best == FOREST.model_copy(update=race.best_params_["params"])
    assert rows[0]["mean"] == pytest.approx(race.best_score_, abs=1e-6)


def test_halving_gives_the_same_table_for_the_same_seed_and_another_for_another_seed():
    one = run_halving(seed=0)
    assert one == run_halving(seed=0)
    assert one[1] != run_halving(seed=1)[1]


def test_progress_is_told_of_every_fold_of_every_candidate():
    inputs, label, _ = frame()
    told = []
    search("classification", search_params("grid", space={"random_forest": {"min_samples_leaf": [1, 3]}}), FOREST, "random_forest",
           make_pipeline_for("classification", "random_forest"), inputs, label, seed=0, progress=told.append)
    assert told == [f"candidate {c}/2, fold {f}/3 done" for c in (1, 2) for f in (1, 2, 3)]


def test_halving_for_regression_keeps_the_lower_rmse_and_reports_it_positive():
    inputs, _, value = frame(n=90)
    best, rows = search("regression", search_params("halving", space={"ridge": {"alpha": [1e6, 0.001]}}), RidgeParams(alpha=1.0), "ridge",
                        make_pipeline_for("regression", "ridge"), inputs, value, seed=0)
    assert best == RidgeParams(alpha=0.001)
    assert rows[0]["params"] == {"alpha": 0.001} and 0 < rows[0]["mean"] < rows[1]["mean"]
