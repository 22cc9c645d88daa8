"""`tabular-mlops export-labels`: the labelled rows of the prediction log become a DVC-tracked
training table that grows, without a personal value, a prediction, an id or a time."""
from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from tabular_mlops.cli import main
from tabular_mlops.data.returned import EXPORTED_IDS
from tabular_mlops.deployment.prediction_log import PredictionLog
from tabular_mlops.privacy.pseudonyms import KEY_VARIABLE, pseudonym_key, split_personal
from tests.dvc_repo import environment

ROOT = Path(__file__).resolve().parents[1]
EMAIL = "planted-4c1e9b@example.org"  # a personal value whose bytes must appear nowhere in the export
CONTRACT = {"target": "Status", "columns": {
    "Status": {"type": "category", "nullable": True, "categories": ["bad", "good"]},
    "Income": {"type": "integer", "nullable": True, "min": 0.0},
    "Home": {"type": "category", "nullable": False, "categories": ["owner", "rent"]},
    "Marital": {"type": "category", "nullable": True, "categories": ["married", "single"], "protected": True},
    "Email": {"type": "text", "nullable": True, "personal": True}}}
OUTPUT = {"probability": 0.7, "decision": "bad", "unseen_categories": []}
OUTPUT_FILE = Path("data/returned/labels.parquet")
REJECTS = Path("data/returned/labels.rejects.csv")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git + DVC repository with the repo's params.yaml, a contract with a personal column, and a
    prediction log (serve.log) written as the service writes it: Email only as a pseudonym."""
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "data").mkdir()
    (tmp_path / "data/contract.yaml").write_text(yaml.safe_dump(CONTRACT, sort_keys=False))
    for command in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, env=environment())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def log_predictions(records: list[dict], outcomes: dict[int, str]) -> list[str]:
    """Log `records` as one request (their Email replaced by pseudonyms, as the service does) and
    feed back `outcomes` ({record number: outcome}); the prediction ids."""
    serve = yaml.safe_load(Path("params.yaml").read_text())["serve"]
    log = PredictionLog(serve["log"])
    log.register_model("v1", "Status", CONTRACT)
    ids = [f"p{len(records)}-{number}-{pd.Timestamp.now().value}" for number in range(len(records))]
    kept, subjects = split_personal(records, ["Email"], pseudonym_key(serve["key_file"]))
    log.log("v1", ids, kept, [OUTPUT] * len(records), subjects)
    for number, outcome in outcomes.items():
        log.feedback(ids[number], outcome)
    log.close()
    return ids


GOOD = [{"Income": 1200, "Home": "rent", "Marital": "single", "Email": EMAIL},
        {"Income": None, "Home": "owner", "Marital": None, "Email": EMAIL},
        {"Income": 40, "Home": "owner", "Marital": "married", "Email": "bo@example.org"}]


def test_export_keeps_inputs_and_target_only_and_no_personal_value_anywhere(project: Path, capsys: pytest.CaptureFixture) -> None:
    ids = log_predictions(GOOD + [{"Income": 5, "Home": "rent", "Email": EMAIL}], {0: "bad", 1: "good", 2: "good"})  # the 4th: no outcome
    assert main(["export-labels", "--since", "2000-01-01"]) == 0
    out = capsys.readouterr().out
    assert "exported 3 rows" in out and "rejected 0" in out and "already exported 0" in out
    assert f"git add {OUTPUT_FILE}.dvc" in out
    table = pd.read_parquet(OUTPUT_FILE)
    # The model's inputs (Income, Home), the protected Marital the log holds as given (the fairness
    # report groups the returned test rows by it), then the target; never the personal Email.
    assert list(table.columns) == ["Income", "Home", "Marital", "Status"]
    expected = pd.DataFrame({"Income": [1200.0, math.nan, 40.0], "Home": ["rent", "owner", "owner"],
                             "Marital": ["single", math.nan, "married"], "Status": ["bad", "good", "good"]})
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    assert pq.read_schema(OUTPUT_FILE).metadata[EXPORTED_IDS].decode() == '["' + '", "'.join(ids[:3]) + '"]'
    assert (project / f"{OUTPUT_FILE}.dvc").is_file() and "/labels.parquet" in (project / "data/returned/.gitignore").read_text()
    key = pseudonym_key(yaml.safe_load(Path("params.yaml").read_text())["serve"]["key_file"])
    from tabular_mlops.privacy.pseudonyms import pseudonym

    searched = [OUTPUT_FILE, REJECTS, *Path(".dvc/cache").rglob("*")]
    assert any(path.is_file() and path.read_bytes() == OUTPUT_FILE.read_bytes() for path in searched[2:])  # cached by dvc add
    for path in (path for path in searched if path.is_file()):
        content = path.read_bytes()
        assert EMAIL.encode() not in content and pseudonym(EMAIL, key).encode() not in content, path


def test_rows_that_break_the_contract_are_rejected_with_their_rules_and_counted(project: Path, capsys: pytest.CaptureFixture) -> None:
    bad = [{"Income": -5, "Home": "rent", "Email": EMAIL},  # the service refuses these; an older contract's log may hold them
           {"Income": 10, "Home": "castle"},
           {"Income": -1, "Home": None}]
    ids = log_predictions(GOOD[:1] + bad, {0: "bad", 1: "good", 2: "bad", 3: "good"})
    assert main(["export-labels", "--since", "2000-01-01"]) == 0
    out = capsys.readouterr().out
    assert "exported 1 rows" in out and f"rejected 3 (the rules they break: {REJECTS})" in out
    rejects = pd.read_csv(REJECTS)
    assert list(rejects.columns) == ["prediction_id", "column", "rule", "Income", "Home", "Marital", "Status"]
    assert list(rejects["prediction_id"]) == ids[1:]
    assert list(rejects["column"]) == ["Income", "Home", "Income; Home"]
    assert list(rejects["rule"]) == ["must be >= 0", "must be one of ['owner', 'rent']", "must be >= 0; must not be empty"]
    assert EMAIL.encode() not in REJECTS.read_bytes()
    assert len(pd.read_parquet(OUTPUT_FILE)) == 1


def test_an_overlapping_window_adds_no_row_twice_and_a_new_export_changes_the_dvc_file(project: Path, capsys: pytest.CaptureFixture) -> None:
    log_predictions(GOOD, {0: "bad", 1: "good"})
    assert main(["export-labels", "--since", "2000-01-01"]) == 0
    first_dvc = (project / f"{OUTPUT_FILE}.dvc").read_text()
    first = OUTPUT_FILE.read_bytes()
    capsys.readouterr()
    assert main(["export-labels", "--since", "2000-01-01"]) == 0  # the same window again: nothing new
    out = capsys.readouterr().out
    assert "nothing to export" in out and "already exported 2" in out
    assert OUTPUT_FILE.read_bytes() == first and (project / f"{OUTPUT_FILE}.dvc").read_text() == first_dvc
    later = log_predictions([{"Income": 7, "Home": "rent", "Email": EMAIL}], {0: "good"})
    assert main(["export-labels", "--since", "2000-01-01"]) == 0
    assert "exported 1 rows" in (out := capsys.readouterr().out) and "(3 in all)" in out and "already exported 2" in out
    table = pd.read_parquet(OUTPUT_FILE)
    assert len(table) == 3 and table["Income"].tolist()[-1] == 7.0
    assert json_ids(OUTPUT_FILE)[-1] == later[0] and len(set(json_ids(OUTPUT_FILE))) == 3
    second_dvc = (project / f"{OUTPUT_FILE}.dvc").read_text()
    assert second_dvc != first_dvc
    md5 = yaml.safe_load(second_dvc)["outs"][0]["md5"]
    import hashlib

    assert md5 == hashlib.md5(OUTPUT_FILE.read_bytes()).hexdigest()  # the .dvc file records this version


def json_ids(path: Path) -> list[str]:
    import json

    return json.loads(pq.read_schema(path).metadata[EXPORTED_IDS])


def test_a_window_without_labelled_rows_exports_nothing_and_exits_0(project: Path, capsys: pytest.CaptureFixture) -> None:
    log_predictions(GOOD, {0: "bad"})
    assert main(["export-labels", "--since", "2999-01-01"]) == 0
    assert "nothing to export" in capsys.readouterr().out
    assert not OUTPUT_FILE.exists() and not Path(f"{OUTPUT_FILE}.dvc").exists()
    assert main(["export-labels", "--since", "yesterday-ish"]) == 2
    assert "--since: not a date or time" in capsys.readouterr().err
