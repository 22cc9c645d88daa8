"""What leaving zero-width-fenced columns unclipped is worth: 5-fold CV ROC-AUC on the credit
training split, with the clipper before the fix (fences [0, 0] turn every non-zero Debt into 0)
and with the current one.

    python benchmarks/clipping.py      # from the repository root, in the project's venv

The training split is the prepare stage's (validate, clean, split with params.yaml's seed and
test_size), built in-process; the checkout is not touched.
"""
from __future__ import annotations

import numpy as np

from tabular_mlops.config.params import load_params
from tabular_mlops.data.cleaning import clean, split
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table
from tabular_mlops.data.validation import validate_table
from tabular_mlops.features.transformers import OutlierClipper
from tabular_mlops.models.pipeline import family_pipeline
from tabular_mlops.models.scoring import cross_validation

FAMILIES = ("logistic_regression", "mlp")


class ClipperBeforeTheFix(OutlierClipper):
    """The fences as the previous version applied them, whatever their width."""

    def fit(self, X, y=None):
        super().fit(X, y)
        self.lower_, self.upper_ = self._fences(np.asarray(X, dtype=np.float64))
        return self


def main() -> None:
    params = load_params()
    contract = read_contract(params.data.contract)
    table = validate_table(read_table(params.data.path), contract, params.data.path)
    cleaned, _ = clean(table, params.data, params.prepare)
    training, _ = split(cleaned, params.data.target, params.prepare.test_size, params.seed, params.data.task)
    inputs, target = split_inputs_target(training, params.data)
    outliers = params.featurize.numeric.outliers
    print(f"training rows {len(inputs)}, non-zero Debt {(inputs['Debt'] > 0).sum()}, outliers.method {outliers.method}")
    for family in FAMILIES:
        for name, clipper in (("before", ClipperBeforeTheFix), ("after", OutlierClipper)):
            pipeline = family_pipeline(params, contract, family)
            pipeline.set_params(preprocess__numeric__clip=clipper(outliers.method, outliers.iqr_factor, tuple(outliers.quantiles)))
            pipeline.named_steps["preprocess"].set_output(transform="pandas")  # reaches the new step too
            cv = cross_validation(params.data.task, pipeline, inputs, target, 5, params.seed)
            print(f"{family:20s} {name:6s} CV ROC-AUC {cv['roc_auc_mean']:.4f} ± {cv['roc_auc_std']:.4f}")


if __name__ == "__main__":
    main()
