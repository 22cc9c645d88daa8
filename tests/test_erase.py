"""`tabular-mlops erase`: a person's records leave the prediction log; the value is never printed."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml

from tabular_mlops.cli import main
from tabular_mlops.deployment.prediction_log import PredictionLog
from tabular_mlops.privacy.pseudonyms import KEY_VARIABLE, pseudonym, pseudonym_key

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = {"target": "Status", "columns": {"Status": {"type": "category", "nullable": True, "categories": ["bad", "good"]},
                                            "Email": {"type": "text", "nullable": True, "personal": True}}}
EMAIL = "ann-7f3a@example.org"
OUTPUT = {"probability": 0.5, "decision": "bad", "unseen_categories": []}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the repo's params.yaml and a log (serve.log) holding three predictions of EMAIL among others."""
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    serve = yaml.safe_load((tmp_path / "params.yaml").read_text())["serve"]
    key = pseudonym_key(serve["key_file"])
    log = PredictionLog(serve["log"])
    log.register_model("v1", "Status", CONTRACT)
    people = [EMAIL, "bo@example.org", EMAIL, EMAIL, "cy@example.org"]
    log.log("v1", [f"id{number}" for number in range(5)], [{}] * 5, [OUTPUT] * 5, [{"Email": pseudonym(person, key)} for person in people])
    log.close()
    return tmp_path


def test_erase_removes_the_persons_predictions_and_prints_how_many_never_the_value(project: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["erase", "--value", f" {EMAIL} "]) == 0  # the value is stripped, as when it was hashed
    out = capsys.readouterr().out
    assert out == "erased 3 predictions of that person from logs/predictions.sqlite, with their feedback and pseudonyms\n"
    log = PredictionLog(project / "logs/predictions.sqlite")
    key = pseudonym_key("logs/pseudonym.key")
    assert log.predictions_of(pseudonym(EMAIL, key)) == [] and log.predictions_of(pseudonym("bo@example.org", key)) == ["id1"]
    log.close()
    assert main(["erase", "--value", EMAIL]) == 0
    assert capsys.readouterr().out.startswith("no predictions of that person in logs/predictions.sqlite: nothing erased")


def test_the_value_may_come_from_stdin_so_it_stays_out_of_the_shell_history(project: Path, capsys: pytest.CaptureFixture,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{EMAIL}\n"))
    assert main(["erase", "--value", "-", "--log", "logs/predictions.sqlite"]) == 0
    assert capsys.readouterr().out.startswith("erased 3 predictions")


@pytest.mark.parametrize(("arguments", "stdin", "expected"), [
    (["--value", "-"], "\n", "error: --value: the value is empty; give the person's value in a personal column, or '-' to read it from standard input"),
    (["--value", EMAIL, "--log", "elsewhere.sqlite"], "", "error: elsewhere.sqlite: no prediction log there (serve.log, or --log)"),
    (["--value", EMAIL, "--key-file", "other.key"], "", "error: other.key: no pseudonym key (serve.key_file, or $TABULAR_MLOPS_PSEUDONYM_KEY)"),
])
def test_an_empty_value_a_missing_log_or_key_is_one_error_line_and_creates_nothing(
        project: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, arguments: list[str], stdin: str, expected: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    before = sorted(path.name for path in project.rglob("*"))
    assert main(["erase", *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith(expected) and error.count("\n") == 1 and EMAIL not in error
    assert sorted(path.name for path in project.rglob("*")) == before  # no new key, no new log


def test_the_old_flag_key_still_erases_with_a_one_line_notice(project: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["erase", "--key", EMAIL]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("erased 3 predictions of that person")
    assert captured.err == "warning: --key is now --value (the person's value; the secret is --key-file); --key will be removed\n"
