"""The contract says what a column is: personal, protected, a model input or not; and the draft suggests it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabular_mlops.data.contract import Contract, contract_yaml, infer_contract, read_contract, suggestions
from tabular_mlops.data.validation import validate_table
from tabular_mlops.errors import StageError

ROWS = 60


@pytest.fixture()
def people() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "Status": rng.choice(["bad", "good"], ROWS),
        "customer_email": [f"person{i}@example.org" for i in range(ROWS)],
        "contact": [f"+44 20 7946 {i:04d}" for i in range(ROWS)],
        "Gender": rng.choice(["f", "m"], ROWS),
        "Age": rng.integers(18, 80, ROWS),
        "Mileage": rng.integers(0, 9, ROWS),
        "Home": rng.choice(["rent", "owner"], ROWS),
    })


def test_draft_marks_personal_and_protected_columns_and_says_why(people):
    found = suggestions(people, "Status")
    assert found == {"customer_email": {"personal": "its name says 'email'"},
                     "contact": {"personal": "its values look like phone numbers"},
                     "Gender": {"protected": "its name says 'gender'"},
                     "Age": {"protected": "its name says 'age'"}}
    contract = infer_contract(people, "Status", "people.csv")
    text = contract_yaml(contract, "people.csv", found)
    assert "#   contact: personal (its values look like phone numbers)" in text
    assert "person3@example.org" not in text  # a personal column's values are not listed as categories
    assert contract.columns["customer_email"].type == "text"
    assert contract.columns["Age"].bands == sorted(contract.columns["Age"].bands)


def test_personal_and_protected_columns_are_not_inputs_unless_the_contract_says_so(people):
    contract = infer_contract(people, "Status", "people.csv")
    assert list(contract.features([])) == ["Mileage", "Home"]
    assert contract.personal == ["customer_email", "contact"] and contract.protected == ["Gender", "Age"]
    age_as_input = contract.model_copy(update={"columns": {**contract.columns, "Age": contract.columns["Age"].model_copy(update={"model_input": True})}})
    assert list(age_as_input.features([])) == ["Age", "Mileage", "Home"]


def test_validate_checks_withheld_personal_columns_then_leaves_them_out(people):
    contract = infer_contract(people, "Status", "people.csv")
    validated = validate_table(people, contract, "people.csv")
    assert "customer_email" not in validated and "contact" not in validated
    assert {"Gender", "Age", "Mileage"} <= set(validated.columns)


def test_a_violation_in_a_personal_column_names_the_line_but_not_the_value(people, tmp_path):
    spec = infer_contract(people, "Status", "people.csv")
    strict = spec.model_copy(update={"columns": {**spec.columns, "contact": spec.columns["contact"].model_copy(update={"type": "integer"})}})
    with pytest.raises(StageError) as error:
        validate_table(people, strict, "people.csv")
    message = str(error.value)
    assert "column 'contact' must be numeric" in message and "line 2 holds a value not shown (personal column)" in message
    assert "7946" not in message


@pytest.mark.parametrize("column, expected", [
    ("{type: text, nullable: true, model_input: true}", "a text column cannot be a model input"),
    ("{type: integer, nullable: true, bands: [30, 40]}", "bands group a protected integer or float column"),
    ("{type: integer, nullable: true, protected: true, bands: [40, 30]}", "bands must be increasing band edges"),
])
def test_inconsistent_markings_are_refused_naming_the_column(tmp_path, column, expected):
    path = tmp_path / "contract.yaml"
    path.write_text(f"target: y\ncolumns:\n  y: {{type: category, nullable: true, categories: [a, b]}}\n  x: {column}\n", encoding="utf-8")
    with pytest.raises(StageError, match=rf"key 'columns\.x'.*{expected}"):
        read_contract(path)


def test_the_bundled_contract_keeps_marital_out_of_the_model_and_age_in():
    contract: Contract = read_contract("data/contract.yaml")
    assert contract.protected == ["Age", "Marital"] and contract.personal == []
    assert "Marital" not in contract.features([]) and "Age" in contract.features([])
    assert contract.columns["Age"].bands == [25, 35, 45, 55, 65]


def test_dates_and_row_identifiers_are_not_suggested_personal():
    table = pd.DataFrame({"Status": ["bad", "good"] * 30, "opened": [f"2024-01-{day:02d}" for day in range(1, 31)] * 2,
                          "ref": [f"R{i:05d}" for i in range(60)]})
    assert suggestions(table, "Status") == {}
