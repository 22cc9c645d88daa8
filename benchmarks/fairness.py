"""Before and after fairness mitigation on the bundled data, in one process.

    python benchmarks/fairness.py [--family logistic_regression] [--column Marital]

Fits the family on data/prepared/train.parquet (run `dvc repro prepare` first) as the train stage
does, then each mitigation of train.fairness.mitigation, and prints the test split's gaps, ROC-AUC
and accuracy of each, computed by the same functions as evaluate's mitigation.json.
"""
from __future__ import annotations

import argparse
import time

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table
from tabular_mlops.evaluation.fairness import mitigation_comparison
from tabular_mlops.models.mitigation import mitigated_model
from tabular_mlops.models.pipeline import family_pipeline


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--family", default="logistic_regression")
    arguments.add_argument("--column", default="Marital")
    options = arguments.parse_args()
    base = load_params()
    contract = read_contract(base.data.contract)
    train = split_inputs_target(read_table("data/prepared/train.parquet"), base.data)
    test = split_inputs_target(read_table("data/prepared/test.parquet"), base.data)
    unmitigated = family_pipeline(base, contract, options.family).fit(*train)
    print(f"| {options.family}, by `{options.column}` | DP difference | EO difference | ROC-AUC | accuracy | fit s |")
    print("|---|---|---|---|---|---|")
    for method in ("exponentiated_gradient", "threshold_optimizer"):
        params = base.model_copy(update={"train": base.train.model_copy(update={"fairness": base.train.fairness.model_copy(
            update={"mitigation": method, "column": options.column})})})
        started = time.perf_counter()
        model = mitigated_model(params, contract, unmitigated, *train)
        seconds = time.perf_counter() - started
        comparison = mitigation_comparison(params, contract, model, *test, train)
        if method == "exponentiated_gradient":
            _row("unmitigated", comparison["unmitigated"], None)
        _row(f"{method} ({params.train.fairness.constraint})", comparison["mitigated"], seconds)


def _row(name: str, side: dict, seconds: float | None) -> None:
    figures = [side["demographic_parity_difference"], side["equalized_odds_difference"], side["roc_auc"], side["accuracy"]]
    print(f"| {name} | " + " | ".join(f"{value:.4f}" for value in figures) + f" | {'' if seconds is None else f'{seconds:.1f}'} |")


if __name__ == "__main__":
    main()
