"""preprocessing: column roles from the contract, and a preprocessor fitted only on what it is given."""
import numpy as np
import pandas as pd
import pytest

from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.features.preprocessing import build_preprocessor, column_roles, datetime_columns, preprocessor_for
from tabular_mlops.config.params import FeaturizeParams

NUMERIC, CATEGORICAL = ["Income", "Age"], ["Home"]


def featurize_spec(numeric=None, categorical=None, outliers=None) -> FeaturizeParams:
    """Plain defaults (no clipping, no transform, no scaling); override one key at a time."""
    return FeaturizeParams.model_validate(
        {
            "numeric": {
                "impute": "median",
                "add_indicator": True,
                "transform": "none",
                "scale": "none",
                "outliers": {"method": "none", "iqr_factor": 3.0, "quantiles": [0.01, 0.99]} | (outliers or {}),
            }
            | (numeric or {}),
            "categorical": {"impute": "most_frequent", "min_frequency": None, "max_categories": None} | (categorical or {}),
        }
    )


@pytest.fixture
def train():
    return pd.DataFrame(
        {
            "Income": [100.0, np.nan, 300.0, 200.0, 5000.0],
            "Age": [30.0, 41.0, 52.0, 23.0, 35.0],
            "Home": ["rent", "owner", "rent", None, "parents"],
        }
    )


def fitted(train, **changes):
    return build_preprocessor(NUMERIC, CATEGORICAL, featurize_spec(**changes)).fit(train)


CONTRACT = Contract(
    target="Status",
    columns={
        "Status": ColumnContract(type="category", nullable=True, categories=["bad", "good"]),
        "Age": ColumnContract(type="integer", nullable=False),
        "Home": ColumnContract(type="category", nullable=True, categories=["rent"]),
        "Id": ColumnContract(type="integer", nullable=False),
        "Ratio": ColumnContract(type="float", nullable=True),
    },
)


def test_column_roles_follow_the_contract_order_without_target_or_dropped_columns():
    assert column_roles(CONTRACT, ["Id"]) == (["Age", "Ratio"], ["Home"])


def test_numeric_target_of_a_regression_contract_is_not_an_input_column():
    contract = Contract(target="Price", columns={"Price": ColumnContract(type="float", nullable=True), "Age": ColumnContract(type="integer", nullable=False)})
    assert column_roles(contract, []) == (["Age"], [])


def test_preprocessor_for_the_contract_is_unfitted_and_uses_its_column_roles():
    preprocessor = preprocessor_for(CONTRACT, ["Id"], featurize_spec())
    assert [(name, columns) for name, _, columns in preprocessor.transformers] == [("numeric", ["Age", "Ratio"]), ("categorical", ["Home"])]
    assert not hasattr(preprocessor, "transformers_")


def test_output_has_no_missing_values_with_every_step_on(train):
    preprocessor = fitted(train, numeric={"transform": "signed_log", "scale": "standard"}, outliers={"method": "iqr"})
    serving = pd.DataFrame({"Income": [np.nan], "Age": [np.nan], "Home": [None]})
    assert not preprocessor.transform(train).isna().any().any()
    assert not preprocessor.transform(serving).isna().any().any()


def test_missing_indicator_only_for_columns_that_had_missing_values(train):
    features = fitted(train).transform(train)
    assert features["numeric__missingindicator_Income"].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    assert "numeric__missingindicator_Age" not in features.columns


def test_no_indicator_columns_without_add_indicator(train):
    names = fitted(train, numeric={"add_indicator": False}).get_feature_names_out()
    assert not any("missingindicator" in name for name in names)


def test_unknown_category_at_serving_gives_all_zero_one_hot_columns_without_error(train):
    preprocessor = fitted(train)
    features = preprocessor.transform(train.head(1).assign(Home="castle"))
    one_hot = [name for name in features.columns if name.startswith("categorical__")]
    assert one_hot == ["categorical__Home_owner", "categorical__Home_parents", "categorical__Home_rent"]
    assert features[one_hot].to_numpy().tolist() == [[0.0, 0.0, 0.0]]


def test_missing_category_is_imputed_with_the_most_frequent_one(train):
    features = fitted(train).transform(train)
    assert features.loc[3, "categorical__Home_rent"] == 1.0


def test_constant_impute_makes_missing_its_own_category(train):
    features = fitted(train, categorical={"impute": "constant"}).transform(train)
    assert features["categorical__Home_missing"].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]


def test_min_frequency_groups_rare_categories_and_unseen_ones_with_them(train):
    preprocessor = fitted(train, categorical={"min_frequency": 2})
    names = list(preprocessor.get_feature_names_out())
    assert [n for n in names if n.startswith("categorical__")] == ["categorical__Home_rent", "categorical__Home_infrequent_sklearn"]
    features = preprocessor.transform(train.head(1).assign(Home="castle"))
    assert features[["categorical__Home_rent", "categorical__Home_infrequent_sklearn"]].to_numpy().tolist() == [[0.0, 1.0]]


@pytest.mark.parametrize(
    "scale, check",
    [
        ("standard", lambda age: np.isclose(age.mean(), 0) and np.isclose(age.std(ddof=0), 1)),
        ("minmax", lambda age: age.min() == 0 and age.max() == 1),
        ("robust", lambda age: np.isclose(age.median(), 0)),
        ("none", lambda age: age.tolist() == [30.0, 41.0, 52.0, 23.0, 35.0]),
    ],
)
def test_scale_option_is_applied(train, scale, check):
    assert check(fitted(train, numeric={"scale": scale}).transform(train)["numeric__Age"])


def test_imputed_value_is_the_training_median_not_the_median_of_new_rows(train):
    preprocessor = fitted(train)
    serving = pd.DataFrame({"Income": [np.nan, 1e6, 2e6], "Age": [1.0, 2.0, 3.0], "Home": ["rent"] * 3})
    assert preprocessor.transform(serving)["numeric__Income"].iloc[0] == train["Income"].median()


def test_outlier_fences_are_learnt_on_the_training_rows(train):
    preprocessor = fitted(train, outliers={"method": "quantile", "quantiles": [0.0, 1.0]})
    serving = train.head(2).assign(Age=[0.0, 1000.0])
    assert preprocessor.transform(serving)["numeric__Age"].tolist() == [23.0, 52.0]


def test_signed_log_transform_is_applied_before_imputation(train):
    features = fitted(train, numeric={"transform": "signed_log"}).transform(train)
    assert np.isclose(features.loc[0, "numeric__Income"], np.log1p(100.0))
    assert np.isclose(features.loc[1, "numeric__Income"], np.median(np.log1p([100.0, 300.0, 200.0, 5000.0])))


def test_other_columns_are_dropped(train):
    names = fitted(train).transform(train.assign(Id=range(5))).columns
    assert not any("Id" in name for name in names)


def test_zero_inflated_column_keeps_its_non_zero_values_through_the_default_clipping():
    # Q1 = Q3 = 0: fences of [0, 0] would have turned every debt into 0 (a constant feature).
    train = pd.DataFrame({"Income": [0.0] * 8 + [500.0, 2000.0], "Age": np.arange(10.0), "Home": ["rent"] * 10})
    spec = {"numeric": {"transform": "signed_log", "scale": "standard"}, "outliers": {"method": "iqr"}}
    features = fitted(train, **spec).transform(train)["numeric__Income"]
    assert features.nunique() == 3
    assert features.iloc[7] < features.iloc[8] < features.iloc[9]


def test_max_categories_bounds_the_one_hot_columns_and_sends_unseen_values_to_the_infrequent_one():
    train = pd.DataFrame({"Income": np.arange(30.0), "Age": np.arange(30.0), "Home": [f"id{i:02d}" for i in range(30)]})
    preprocessor = fitted(train, categorical={"max_categories": 5})
    one_hot = [name for name in preprocessor.get_feature_names_out() if name.startswith("categorical__")]
    assert len(one_hot) == 5 and one_hot[-1] == "categorical__Home_infrequent_sklearn"
    unseen = preprocessor.transform(train.head(1).assign(Home="id99"))
    assert unseen[one_hot].to_numpy().tolist() == [[0.0, 0.0, 0.0, 0.0, 1.0]]


def test_max_categories_null_keeps_every_category():
    train = pd.DataFrame({"Income": np.arange(30.0), "Age": np.arange(30.0), "Home": [f"id{i:02d}" for i in range(30)]})
    names = fitted(train, categorical={"max_categories": None}).get_feature_names_out()
    assert sum(name.startswith("categorical__") for name in names) == 30


def test_datetime_columns_become_calendar_parts_then_numeric_steps():
    train = pd.DataFrame({"Income": [1.0, 2.0, 3.0], "Age": [1.0, 2.0, 3.0], "Home": ["rent"] * 3,
                          "Opened": ["2022-01-31", "2023-03-05", None]})
    preprocessor = build_preprocessor(NUMERIC, CATEGORICAL, featurize_spec(), ["Opened"]).fit(train)
    features = preprocessor.transform(train)
    parts = [name for name in features.columns if name.startswith("datetime__")]
    assert parts[:4] == ["datetime__Opened_year", "datetime__Opened_month", "datetime__Opened_day_of_week", "datetime__Opened_day_of_year"]
    assert features["datetime__Opened_year"].tolist() == [2022.0, 2023.0, 2022.5]  # the missing one: the median
    assert features["datetime__missingindicator_Opened_year"].tolist() == [0.0, 0.0, 1.0]


def test_preprocessor_for_a_contract_with_a_datetime_column_adds_the_datetime_branch():
    contract = Contract(target="Status", columns=dict(CONTRACT.columns) | {"Opened": ColumnContract(type="datetime", nullable=True)})
    preprocessor = preprocessor_for(contract, ["Id"], featurize_spec())
    assert [(name, columns) for name, _, columns in preprocessor.transformers][-1] == ("datetime", ["Opened"])
    assert datetime_columns(contract, ["Opened"]) == []


def test_datetime_features_of_a_fold_with_a_gappy_index_are_not_missing():
    rows = pd.DataFrame({"Income": np.arange(6.0), "Age": np.arange(6.0), "Home": ["rent"] * 6,
                         "Opened": ["2020-01-01", "2021-02-01", "2022-03-01", "2023-04-01", "2024-05-01", "2025-06-01"]})
    fold = rows.iloc[[1, 3, 5]]  # index 1, 3, 5, as cross-validation hands it over
    features = build_preprocessor(NUMERIC, CATEGORICAL, featurize_spec(), ["Opened"]).fit(fold).transform(fold)
    assert features["datetime__Opened_year"].tolist() == [2021.0, 2023.0, 2025.0]
    assert "datetime__missingindicator_Opened_year" not in features.columns


def test_unseen_category_under_a_bound_that_grouped_nothing_still_gives_all_zeros(train):
    preprocessor = fitted(train, categorical={"max_categories": 20})  # 3 categories: no infrequent column
    features = preprocessor.transform(train.head(1).assign(Home="castle"))
    one_hot = [name for name in features.columns if name.startswith("categorical__")]
    assert one_hot == ["categorical__Home_owner", "categorical__Home_parents", "categorical__Home_rent"]
    assert features[one_hot].to_numpy().tolist() == [[0.0, 0.0, 0.0]]
