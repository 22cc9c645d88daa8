"""featurize: the report of what preprocessing did to the training split, and the warnings."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabular_mlops.config.params import load_params
from tabular_mlops.data.cleaning import clean, split
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table
from tabular_mlops.data.validation import validate_table
from tabular_mlops.features.preprocessing import build_preprocessor, preprocessor_for
from tabular_mlops.features.report import bounded_categoricals, constant_features, featurize_report, featurize_warnings
from tests.test_preprocessing import featurize_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def train():
    # Debt: zero-inflated. Income: one far outlier, one gap. Home: a gap and a rare category.
    return pd.DataFrame({
        "Debt": [0.0] * 9 + [700.0],
        "Income": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, np.nan, 1000.0],
        "Home": ["rent"] * 5 + ["owner"] * 3 + [None, "castle"],
    })


def fit(train, **changes):
    spec = featurize_spec(outliers={"method": "iqr", "iqr_factor": 1.5}, **changes)
    return build_preprocessor(["Debt", "Income"], ["Home"], spec).fit(train)


def test_report_counts_clipped_and_imputed_rows_and_names_the_unclipped_column(train):
    report = featurize_report(fit(train), train)
    # Income's present values 10..17 and 1000: Q1 = 12, Q3 = 16, fences [6, 22]; only 1000 lies outside.
    assert report["numeric"]["Income"] == {"rows_clipped": 1, "rows_imputed": 1, "unclipped": False, "unclipped_reason": None}
    debt = report["numeric"]["Debt"]
    assert debt["unclipped"] and debt["rows_clipped"] == 0 and debt["rows_imputed"] == 0
    assert debt["unclipped_reason"].startswith("fences have zero width")


def test_report_gives_categories_kept_and_whether_rare_ones_were_grouped(train):
    plain = featurize_report(fit(train), train)["categorical"]["Home"]
    assert plain == {"rows_imputed": 1, "categories": 3, "categories_kept": 3, "infrequent_grouped": False,
                     "rows_infrequent": 0, "max_categories_applied": False}
    # The gap is imputed as "rent" (most frequent) before counting: rent 6, owner 3, castle 1.
    grouped = featurize_report(fit(train, categorical={"min_frequency": 2}), train)["categorical"]["Home"]
    assert grouped == plain | {"categories_kept": 2, "infrequent_grouped": True, "rows_infrequent": 1}


def test_max_categories_that_cut_a_column_down_give_one_warning_naming_it(train):
    report = featurize_report(fit(train, categorical={"max_categories": 2}), train)
    assert report["categorical"]["Home"]["categories_kept"] == 1 and report["categorical"]["Home"]["max_categories_applied"]
    assert bounded_categoricals(report, 2) == [
        "column 'Home' has 3 categories in the training split; featurize.categorical.max_categories (2) kept 1"
        " and grouped the other 2 as one infrequent column; if it is an identifier, add it to data.drop_columns"
    ]
    assert bounded_categoricals(featurize_report(fit(train, categorical={"max_categories": 4}), train), 4) == []


def test_no_constant_feature_from_a_column_that_varies(train):
    preprocessor = fit(train)
    assert constant_features(preprocessor, train, preprocessor.transform(train)) == []


def test_a_feature_made_constant_by_preprocessing_is_named_with_its_raw_column(train):
    # Every category rarer than 100 rows: the one-hot block is one always-1 infrequent column.
    preprocessor = fit(train, categorical={"min_frequency": 100})
    assert constant_features(preprocessor, train, preprocessor.transform(train)) == [("Home", "categorical__Home_infrequent_sklearn")]
    warnings = featurize_warnings(preprocessor, train, preprocessor.transform(train), featurize_report(preprocessor, train), None, "metrics/featurize.json")
    assert warnings == ["feature 'categorical__Home_infrequent_sklearn' is constant on the training split but its column 'Home'"
                        " is not: preprocessing removed what the column says (see metrics/featurize.json)"]


def test_a_constant_feature_is_credited_to_its_column_when_another_columns_name_prefixes_it(train):
    # `Home_infrequent`'s name prefixes `Home_infrequent_sklearn`, Home's infrequent bucket: the
    # fitted encoder, not the longest prefix, says whose it is.
    both = train.assign(Home_infrequent=["x", "y"] * 5)
    spec = featurize_spec(outliers={"method": "iqr", "iqr_factor": 1.5}, categorical={"min_frequency": 100})
    preprocessor = build_preprocessor(["Debt", "Income"], ["Home", "Home_infrequent"], spec).fit(both)
    found = constant_features(preprocessor, both, preprocessor.transform(both))
    assert found == [("Home", "categorical__Home_infrequent_sklearn"), ("Home_infrequent", "categorical__Home_infrequent_infrequent_sklearn")]


def test_a_column_constant_in_the_raw_data_is_not_reported(train):
    flat = train.assign(Income=5.0)
    preprocessor = fit(flat)
    assert constant_features(preprocessor, flat, preprocessor.transform(flat)) == []


def test_report_lists_the_calendar_parts_of_a_datetime_column(train):
    dated = train.assign(Opened=["2024-01-31", "2023-02-01", None, "2022-05-06", "x"] * 2)
    spec = featurize_spec(outliers={"method": "iqr"})
    preprocessor = build_preprocessor(["Debt"], ["Home"], spec, ["Opened"]).fit(dated)
    opened = featurize_report(preprocessor, dated)["datetime"]["Opened"]
    assert opened["rows_imputed"] == 4  # missing or unparseable
    assert list(opened["parts"]) == ["year", "month", "day_of_week", "day_of_year"]
    assert constant_features(preprocessor, dated, preprocessor.transform(dated)) == []


def test_credit_debt_keeps_its_information_with_the_repo_params():
    # The prepare stage's training split of the bundled table, built in-process with the repo's params.
    params = load_params(ROOT / "params.yaml")
    contract = read_contract(ROOT / params.data.contract)
    table = validate_table(read_table(ROOT / params.data.path), contract, params.data.path)
    cleaned, _ = clean(table, params.data, params.prepare)
    training, _ = split(cleaned, params.data.target, params.prepare.test_size, params.seed, params.data.task)
    inputs, _ = split_inputs_target(training, params.data)
    assert params.featurize.numeric.outliers.method == "iqr" and (inputs["Debt"] > 0).sum() > 600

    preprocessor = preprocessor_for(contract, params.data.drop_columns, params.featurize).fit(inputs)
    features = preprocessor.transform(inputs)
    assert features["numeric__Debt"].nunique() > 100
    # Order is kept: a larger debt never gets a smaller feature value.
    present = inputs["Debt"].notna()
    ranked = pd.DataFrame({"raw": inputs.loc[present, "Debt"], "feature": features.loc[present, "numeric__Debt"]}).sort_values("raw")
    assert ranked["feature"].is_monotonic_increasing
    assert featurize_warnings(preprocessor, inputs, preprocessor.transform(inputs), featurize_report(preprocessor, inputs), 20, "metrics/featurize.json") == []
    assert featurize_report(preprocessor, inputs)["numeric"]["Debt"]["unclipped"]


def test_category_counts_after_imputation_equal_those_of_the_imputed_column():
    from sklearn.impute import SimpleImputer

    from tabular_mlops.features.report import _imputed_counts

    column = pd.Series(pd.Categorical(["a", "b", None, "b", None, "c"], categories=["a", "b", "c", "unused"]), name="Home")
    for strategy, fill in (("most_frequent", None), ("constant", "missing")):
        imputer = SimpleImputer(strategy=strategy, fill_value=fill).fit(column.to_frame())
        expected = pd.Series(imputer.transform(column.to_frame())[:, 0]).value_counts()
        assert _imputed_counts(column, imputer.statistics_[0]).sort_index().to_dict() == expected.sort_index().to_dict()
