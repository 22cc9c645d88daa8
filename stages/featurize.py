"""Featurize: build the preprocessing from params and fit it on the training split only.

Saved as models/preprocessor.joblib and placed, already fitted, at the head of the model
pipeline, so serving applies exactly these steps. Cross-validation never reuses this fitted
copy: evaluate clones the whole pipeline, so each fold refits preprocessing on its own
training part.
"""
from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

from stages.contract import Contract, read_contract
from stages.dataset import split_inputs_target
from stages.errors import run_stage
from stages.files import dump_joblib
from stages.params import CategoricalParams, FeaturizeParams, NumericParams, load_params
from stages.tables import read_table, write_parquet
from stages.transformers import OutlierClipper, signed_log

TRAIN = "data/prepared/train.parquet"
PREPROCESSOR = "models/preprocessor.joblib"
FEATURES = "data/features/train.parquet"

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


def main() -> None:
    params = load_params()
    contract = read_contract(params.data.contract)
    inputs, target = split_inputs_target(read_table(TRAIN), params.data)
    numeric, categorical = column_roles(contract, params.data.drop_columns)
    preprocessor = build_preprocessor(numeric, categorical, params.featurize).fit(inputs)
    features = preprocessor.transform(inputs).assign(**{target.name: target.to_numpy()})
    dump_joblib(PREPROCESSOR, preprocessor)
    write_parquet(FEATURES, features)


if __name__ == "__main__":
    run_stage(main)
