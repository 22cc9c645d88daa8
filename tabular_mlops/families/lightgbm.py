"""LightGBM gradient boosting, an optional extra (pip install -e '.[lightgbm]'): both tasks;
explained exactly by tree SHAP (LightGBM's own, in float64), a classifier in log-odds.

Its knobs mirror hist_gradient_boosting's, so the two compare like for like. Results do not
depend on the machine: `deterministic` with column-wise histograms gives the same trees whatever
`n_jobs` (LightGBM's documented guarantee, checked by tests/test_lightgbm.py), and the seed
drives any sampling.
"""
from __future__ import annotations

from pydantic import Field

from tabular_mlops.families.family import Explanation, Family
from tabular_mlops.params_section import Section


class LightGBMParams(Section):
    learning_rate: float = Field(gt=0)
    n_estimators: int = Field(ge=1)          # boosting rounds, all of them (no early stopping)
    num_leaves: int = Field(ge=2)            # leaves per tree
    min_child_samples: int = Field(ge=1)     # rows per leaf, at least
    reg_lambda: float = Field(ge=0)          # L2 penalty on the leaf values
    n_jobs: int = Field(ge=1)                # threads; never changes a result


def _boosting(estimator, spec: LightGBMParams, seed: int):
    return estimator(
        learning_rate=spec.learning_rate, n_estimators=spec.n_estimators, num_leaves=spec.num_leaves,
        min_child_samples=spec.min_child_samples, reg_lambda=spec.reg_lambda, n_jobs=spec.n_jobs,
        random_state=seed, deterministic=True, force_col_wise=True,
        verbose=-1,  # LightGBM prints its warnings on stdout otherwise
    )


def classifier(spec: LightGBMParams, seed: int):
    from lightgbm import LGBMClassifier

    return _boosting(LGBMClassifier, spec, seed)


def regressor(spec: LightGBMParams, seed: int):
    from lightgbm import LGBMRegressor

    return _boosting(LGBMRegressor, spec, seed)


def _estimators() -> tuple[type, ...]:
    from lightgbm import LGBMClassifier, LGBMRegressor

    return (LGBMClassifier, LGBMRegressor)


def _margin(estimator, rows):
    return estimator.predict(rows, raw_score=True)  # LightGBM has no decision_function


FAMILY = Family(
    name="lightgbm",
    params=LightGBMParams,
    factories={"classification": classifier, "regression": regressor},
    search_space={"learning_rate": [0.03, 0.1], "num_leaves": [8, 15, 31], "min_child_samples": [20, 40]},
    explanation=Explanation(method="tree", classification_output="log_odds", estimators=_estimators, margin=_margin),
    # monotone_constraints is positional, as the random forest's monotonic_cst: not reachable by column name here.
    monotonic="cannot",
    requires=("lightgbm",),
    extra="lightgbm",
)
