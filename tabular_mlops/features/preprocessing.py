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
from tabular_mlops.features.transformers import OutlierClipper, signed_log

SCALERS = {"standard": StandardScaler, "robust": RobustScaler, "minmax": MinMaxScaler}


def column_roles(contract: Contract, dropped: list[str]) -> tuple[list[str], list[str]]:
    """(numeric, categorical) input columns, in the contract's order."""
    features = contract.features(dropped)
    numeric = [name for name, spec in features.items() if spec.type in ("integer", "float")]
    categorical = [name for name, spec in features.items() if spec.type == "category"]
    return numeric, categorical


def build_preprocessor(numeric: list[str], categorical: list[str], spec: FeaturizeParams) -> ColumnTransformer:
    """Numeric: clip, transform, impute, scale. Categorical: impute, one-hot (unseen -> all zeros)."""
    return ColumnTransformer(
        [("numeric", _numeric_steps(spec.numeric), numeric), ("categorical", _categorical_steps(spec.categorical), categorical)],
        remainder="drop",
        verbose_feature_names_out=True,
    ).set_output(transform="pandas")


def _numeric_steps(spec: NumericParams) -> Pipeline:
    outliers = spec.outliers
    steps = [("clip", OutlierClipper(outliers.method, outliers.iqr_factor, tuple(outliers.quantiles)))]
    if spec.transform == "signed_log":
        steps.append(("log", FunctionTransformer(signed_log, feature_names_out="one-to-one")))
    steps.append(("impute", SimpleImputer(strategy=spec.impute, add_indicator=spec.add_indicator)))
    if spec.scale != "none":
        steps.append(("scale", SCALERS[spec.scale]()))
    return Pipeline(steps)


def _categorical_steps(spec: CategoricalParams) -> Pipeline:
    imputer = SimpleImputer(strategy=spec.impute, fill_value="missing")
    # Dense output: HistGradientBoosting refuses sparse input. Unseen categories encode as zeros
    # (or as the infrequent bucket when min_frequency groups rare ones).
    unknown = "infrequent_if_exist" if spec.min_frequency else "ignore"
    encoder = OneHotEncoder(handle_unknown=unknown, min_frequency=spec.min_frequency, sparse_output=False)
    return Pipeline([("impute", imputer), ("one_hot", encoder)])


def preprocessor_for(contract: Contract, dropped: list[str], spec: FeaturizeParams) -> ColumnTransformer:
    """The unfitted preprocessing for the contract's input columns."""
    numeric, categorical = column_roles(contract, dropped)
    return build_preprocessor(numeric, categorical, spec)
