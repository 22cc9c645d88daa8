"""The contract says what a column is: personal, protected, a model input or not; and the draft suggests it."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tabular_mlops.cli import main
from tabular_mlops.data.contract import Contract, contract_yaml, infer_contract, read_contract, suggestions
from tabular_mlops.data.validation import validate_table
from tabular_mlops.errors import StageError

ROWS = 60
ROOT = Path(__file__).resolve().parents[1]


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
    # The reason sits beside each suggestion's decision.
    assert "    model_input: false  # suggested personal (its values look like phone numbers)" in text
    assert "person3@example.org" not in text  # a personal column's values are not listed as categories
    assert contract.columns["customer_email"].type == "text"
    assert contract.columns["Age"].bands == sorted(contract.columns["Age"].bands)


def test_the_draft_keeps_protected_columns_as_inputs_and_personal_ones_out_and_says_so_explicitly(people):
    contract = infer_contract(people, "Status", "people.csv")
    assert list(contract.features([])) == ["Gender", "Age", "Mileage", "Home"]
    assert contract.personal == ["customer_email", "contact"] and contract.protected == ["Gender", "Age"]
    assert {name: contract.columns[name].model_input for name in ("customer_email", "contact", "Gender", "Age", "Mileage")} == {
        "customer_email": False, "contact": False, "Gender": True, "Age": True, "Mileage": None}
    # A hand-written protected column without model_input (the bundled contract's Marital) is not an input.
    for model_input in (None, False):
        age = contract.columns["Age"].model_copy(update={"model_input": model_input})
        assert list(contract.model_copy(update={"columns": {**contract.columns, "Age": age}}).features([])) == ["Gender", "Mileage", "Home"]


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


@pytest.mark.parametrize("column, personal", [
    ("account_balance", False), ("tax_paid", False), ("license_type", False), ("card_limit", False),
    ("national_rate", False), ("account_number", True), ("tax_id", True), ("LicenceNo", True),
    ("national_insurance_number", True), ("customer_email", True),
])
def test_an_account_or_tax_figure_stays_an_input_while_its_number_is_suggested_personal(column: str, personal: bool):
    # The columns a credit table holds: a balance is a feature, the account's number identifies a person.
    values = pd.Series(np.arange(60, dtype=float))
    table = pd.DataFrame({"Status": ["bad", "good"] * 30, column: values})
    assert ("personal" in suggestions(table, "Status").get(column, {})) is personal


def drafted(table: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[list[str], str]:
    """`tabular-mlops contract --force` on `table` (target `outcome`), as a user runs it: its stdout lines and the YAML."""
    (tmp_path / "data").mkdir()
    table.to_csv(tmp_path / "data/patients.csv", index=False)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(path="data/patients.csv", target="outcome", positive_class="died", segment_column=None)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    assert main(["contract", "--force"]) == 0
    return capsys.readouterr().out.splitlines(), (tmp_path / "data/contract.yaml").read_text()


def column_block(text: str, column: str) -> str:
    """The lines of one column's entry in a contract's YAML."""
    return re.search(rf"^  {column}:\n((?:    .*\n)+)", text, re.MULTILINE).group(1)


def patients(**extra) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"age": rng.integers(18, 90, ROWS), "sex": rng.choice(["f", "m"], ROWS),
                         "speed": rng.integers(20, 120, ROWS), "belted": rng.choice(["no", "yes"], ROWS), **extra,
                         "outcome": rng.choice(["died", "survived"], ROWS)})


def test_the_draft_keeps_age_and_sex_as_model_inputs_and_prints_each_suggestion_with_its_reason(tmp_path, monkeypatch, capsys):
    out, text = drafted(patients(), tmp_path, monkeypatch, capsys)
    for column in ("age", "sex"):
        assert re.search(rf"^    model_input: true  # suggested protected \(its name says '{column}'\)", column_block(text, column), re.MULTILINE)
    contract = read_contract("data/contract.yaml")
    assert contract.protected == ["age", "sex"]
    assert list(contract.features([])) == ["age", "sex", "speed", "belted"]  # the model learns from every column

    assert out[0] == "wrote data/contract.yaml: 5 columns, target 'outcome'. Review it, then commit it."
    assert len(out) == 3  # the summary, then one line per suggestion
    for line, column in zip(out[1:], ("age", "sex")):
        assert line.startswith(f"  {column}: protected (its name says '{column}'): still a model input (model_input: true).")
        assert "Set model_input: false to train without it; fairness is still reported by it." in line
        assert "Lending: the law may forbid it as an input. Medicine: age and sex are usually needed." in line


def test_a_suggested_personal_column_is_kept_out_loudly_and_the_way_back_in_works(tmp_path, monkeypatch, capsys):
    """Decided: a personal column is not a model input (the data's point is not to store it), and both the terminal and the
    contract say so and how to change it; following those words makes it an input."""
    table = patients(contact=[f"patient{i}@example.org" for i in range(ROWS)], zip=np.arange(10_000, 10_000 + ROWS))
    out, text = drafted(table, tmp_path, monkeypatch, capsys)
    assert re.search(r"^    model_input: false  # suggested personal \(its values are email addresses\): kept OUT of the model",
                     column_block(text, "contact"), re.MULTILINE)
    assert re.search(r"^    model_input: false  # suggested personal \(its name says 'zip'\): kept OUT of the model",
                     column_block(text, "zip"), re.MULTILINE)
    contract = read_contract("data/contract.yaml")
    assert contract.withheld == ["contact", "zip"]
    assert list(contract.features([])) == ["age", "sex", "speed", "belted"]

    assert len(out) == 5 and out[3].startswith("  contact: personal (its values are email addresses): NOT a model input (model_input: false)")
    assert out[4].startswith("  zip: personal (its name says 'zip'): NOT a model input (model_input: false)")
    assert out[3].endswith("If it is not personal data and should be an input: delete personal: true, set type: category,"
                           " list its categories and set model_input: true.")
    assert out[4].endswith("To train on it anyway, set model_input: true (its values are then stored with the data and the model).")

    raw = yaml.safe_load(text)
    raw["columns"]["zip"]["model_input"] = True
    del raw["columns"]["contact"]["personal"]
    raw["columns"]["contact"].update(type="category", categories=sorted(table["contact"]), model_input=True)
    Path("data/contract.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    assert list(read_contract("data/contract.yaml").features([])) == ["age", "sex", "speed", "belted", "contact", "zip"]
