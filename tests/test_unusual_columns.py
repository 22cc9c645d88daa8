"""Tables with columns the credit data does not have, through the bring-your-own-table flow
(`python -m tabular_mlops contract --force`, then the real `dvc repro`) in a temporary git repo:
a datetime column becomes calendar parts, and an identifier with thousands of values becomes a
bounded number of one-hot columns plus a warning that names it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.dvc_repo import copy_project, draft_contract, dvc, init_git_repo, update_params
from tests.test_remotes import succeeded

ROOT = Path(__file__).resolve().parents[1]
TABLE = "data/raw/loans.csv"

pytestmark = pytest.mark.slow


def loans(rows: int, seed: int = 0) -> pd.DataFrame:
    """Loans whose default risk grows with the amount and is higher for loans opened in winter."""
    rng = np.random.default_rng(seed)
    opened = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 6 * 365, rows), unit="D")
    amount = rng.gamma(2.0, 1000.0, rows).round(2)
    winter = opened.month.isin([12, 1, 2])
    risk = 1 / (1 + np.exp(-(amount / 1000 - 2 + 1.5 * winter)))
    return pd.DataFrame({
        "opened": opened.strftime("%Y-%m-%d"),
        "amount": amount,
        "region": rng.choice(["north", "south", "east"], rows),
        "outcome": np.where(rng.random(rows) < risk, "default", "repaid"),
    })


def own_table_repo(repo: Path, table: pd.DataFrame) -> Path:
    """The project with `table` as its data, light params, and a drafted contract, committed."""
    copy_project(ROOT, repo)
    (repo / TABLE).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(repo / TABLE, index=False)

    def configure(params: dict) -> None:
        params["data"].update(path=TABLE, target="outcome", positive_class="default", drop_columns=[])
        params["leaderboard"].update(families=["logistic_regression"], cv_folds=2)  # one family: seconds, not minutes
        params["evaluate"].update(cv_folds=2, importance_repeats=1)
        params["data"]["segment_column"] = None
        params["gates"] = [{"metric": "test.roc_auc", "min": 0.5}]

    update_params(repo, configure)
    drafted = draft_contract(repo, "--force")
    assert drafted.returncode == 0, drafted.stderr
    init_git_repo(repo)
    return repo


def test_a_datetime_column_becomes_calendar_parts_and_a_5000_value_identifier_a_bounded_block(tmp_path: Path) -> None:
    # One table, one pipeline run, for both columns: each run of the stages costs seconds of start-up.
    table = loans(5000)
    table.insert(0, "customer", [f"C{number:05d}" for number in range(5000)])
    repo = own_table_repo(tmp_path / "repo", table)
    contract = yaml.safe_load((repo / "data/contract.yaml").read_text())
    assert contract["columns"]["opened"] == {"type": "datetime", "nullable": False}
    assert contract["columns"]["customer"]["type"] == "category" and len(contract["columns"]["customer"]["categories"]) == 5000

    result = succeeded(dvc(repo, "repro", "train"))  # up to the model's metadata: what the columns became
    # prepare keeps 4000 of the 5000 rows for training (test_size 0.2); the bound of 20 includes the infrequent column.
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, warnings  # the identifier only: the date's parts are not constant
    assert warnings[0].startswith("warning: featurize: column 'customer' has 4000 categories in the training split;"
                                  " featurize.categorical.max_categories (20) kept 19 and grouped the other 3981")
    model = json.loads((repo / "models/model.json").read_text())
    assert model["input_types"]["opened"] == "datetime"
    parts = [name for name in model["features"] if name.startswith("datetime__opened")]
    assert parts == ["datetime__opened_year", "datetime__opened_month", "datetime__opened_day_of_week", "datetime__opened_day_of_year"]
    customer = [name for name in model["features"] if name.startswith("categorical__customer_")]
    assert len(customer) == 20 and customer[-1] == "categorical__customer_infrequent_sklearn"
    assert len(model["features"]) < 40
    report = json.loads((repo / "metrics/featurize.json").read_text())
    assert sorted(report["datetime"]["opened"]["parts"]) == ["day_of_week", "day_of_year", "month", "year"]
    assert report["categorical"]["customer"]["rows_infrequent"] == 3981

    table = pd.read_csv(repo / TABLE)
    table.loc[6, "opened"] = "31/01/2024"  # line 8 of the file
    table.to_csv(repo / TABLE, index=False)
    refused = dvc(repo, "repro", "train")
    assert refused.returncode != 0
    assert (f"error: {TABLE}: column 'opened' must be an ISO 8601 date or timestamp (e.g. 2024-01-31 or 2024-01-31T14:05:00),"
            " but line 8 holds '31/01/2024'") in refused.output
