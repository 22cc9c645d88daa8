"""The preprocessing pipeline, built from the `featurize` params and the data contract.

Shared by the featurize stage (fits it once, on the whole training split) and by every
cross-validation (which clones it, so each fold fits its own copy).
"""
from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

from tabular_mlops.data.contract import Contract
from tabular_mlops.config.params import CategoricalParams, FeaturizeParams, NumericParams
from tabular_mlops.errors import StageError
from tabular_mlops.features.transformers import DatetimeParts, OutlierClipper, signed_log

SCALERS = {"standard": StandardScaler, "robust": RobustScaler, "minmax": MinMaxScaler}
NUMERIC = "numeric"  # the numeric branch: its value features are named numeric__<column> (its missing indicators otherwise)


def column_roles(contract: Contract, dropped: list[str]) -> tuple[list[str], list[str]]:
    """(numeric, categorical) input columns, in the contract's order."""
    features = contract.features(dropped)
    numeric = [name for name, spec in features.items() if spec.type in ("integer", "float")]
    categorical = [name for name, spec in features.items() if spec.type == "category"]
    return numeric, categorical


def datetime_columns(contract: Contract, dropped: list[str]) -> list[str]:
    """Input columns of contract type datetime, in the contract's order."""
    return [name for name, spec in contract.features(dropped).items() if spec.type == "datetime"]


def build_preprocessor(numeric: list[str], categorical: list[str], spec: FeaturizeParams, datetimes: list[str] = ()) -> ColumnTransformer:
    """Numeric: clip, transform, impute, scale. Categorical: impute, one-hot (at most max_categories
    columns; unseen -> the infrequent bucket, or all zeros). Datetime: calendar parts, then the numeric steps."""
    branches = [(NUMERIC, _numeric_steps(spec.numeric), numeric), ("categorical", _categorical_steps(spec.categorical), categorical)]
    if datetimes:
        branches.append(("datetime", Pipeline([("parts", DatetimeParts()), *_numeric_steps(spec.numeric, log=False).steps]), list(datetimes)))
    return ColumnTransformer(branches, remainder="drop", verbose_feature_names_out=True).set_output(transform="pandas")


def _numeric_steps(spec: NumericParams, log: bool = True) -> Pipeline:
    outliers = spec.outliers
    steps = [("clip", OutlierClipper(outliers.method, outliers.iqr_factor, tuple(outliers.quantiles)))]
    # Calendar parts are not skewed amounts: the log would only bend them.
    if log and spec.transform == "signed_log":
        steps.append(("log", FunctionTransformer(signed_log, feature_names_out="one-to-one")))
    steps.append(("impute", SimpleImputer(strategy=spec.impute, add_indicator=spec.add_indicator)))
    if spec.scale != "none":
        steps.append(("scale", SCALERS[spec.scale]()))
    return Pipeline(steps)


def _categorical_steps(spec: CategoricalParams) -> Pipeline:
    imputer = SimpleImputer(strategy=spec.impute, fill_value="missing")
    # Dense output: HistGradientBoosting refuses sparse input. Unseen categories encode as the
    # infrequent bucket when min_frequency or max_categories made one, else as all zeros.
    encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=spec.min_frequency,
                            max_categories=spec.max_categories, sparse_output=False)
    return Pipeline([("impute", imputer), ("one_hot", encoder)])


def monotonic_constraints(preprocessor: ColumnTransformer, monotonic: dict[str, str]) -> dict[str, int]:
    """train.monotonic as {preprocessed feature name: 1 increasing | -1 decreasing}.

    Every numeric step (clip, signed log, impute, scale) keeps the order of the values, so a
    constraint on the column's value feature is one on the raw column; its missing indicator stays free.
    Raises StageError for a column that is not one of `preprocessor`'s numeric inputs.
    """
    numeric = next((list(columns) for name, _, columns in preprocessor.transformers if name == NUMERIC), [])
    for column in monotonic:
        if column not in numeric:
            raise StageError(f"params.yaml: train.monotonic.{column}: '{column}' is not a numeric model input (an integer or float input"
                             f" column of the data contract, not in data.drop_columns); numeric inputs: {', '.join(numeric) or 'none'}")
    return {f"{NUMERIC}__{column}": 1 if direction == "increasing" else -1 for column, direction in monotonic.items()}


def preprocessor_for(contract: Contract, dropped: list[str], spec: FeaturizeParams) -> ColumnTransformer:
    """The unfitted preprocessing for the contract's input columns."""
    numeric, categorical = column_roles(contract, dropped)
    return build_preprocessor(numeric, categorical, spec, datetime_columns(contract, dropped))
