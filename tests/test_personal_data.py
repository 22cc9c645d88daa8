"""Personal data never leaks: recognisable values planted in personal columns appear in no file the
pipeline, the service, batch scoring, the monitor or `erase` writes, and in no answer.

The credit table (600 rows) gets an email and a name column, declared personal in the contract;
the real `dvc repro` runs on it in a temporary git repository, then the real service, batch
scoring and the monitor (on a window of the service's log and on a scored batch). A file is
searched as bytes and, where it is Parquet or compressed, as its decoded content too, for the
marker every planted value starts with, in any case. The service and batch scoring run on both
paths (tests/service.py RUNTIMES), each with a server of its own; the monitor and `erase` read the
default path's log.
"""
from __future__ import annotations

import gzip
import json
import math
import shutil
import sqlite3
import stat
import subprocess
import sys
import zlib
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

from tabular_mlops.deployment.prediction_log import read_scored
from tabular_mlops.privacy.pseudonyms import pseudonym, pseudonym_key
from tests import service as svc
from tests.dvc_repo import dvc, environment, reproduce_from_nothing, small_credit_project, update_params

pytestmark = pytest.mark.slow

MARKER = b"planted-"  # searched for in lower case: every planted value starts with it
RAW_TABLE = "data/raw/credit.csv"  # the input itself holds them, and so git's copy of it
PERSONAL = {"Email": {"type": "text", "nullable": False, "personal": True},
            "Name": {"type": "text", "nullable": False, "personal": True}}
LOG_FILES = ("predictions.sqlite", "predictions.sqlite-wal", "predictions.sqlite-shm")


def email(number: int) -> str:
    return f"PLANTED-EMAIL-{number:04d}-7f3a@example.org"


def name(number: int) -> str:
    return f"PLANTED-NAME-Zyx-{number:04d}"


def decoded(data: bytes) -> list[bytes]:
    """The bytes, and what they hold when they are Parquet (the cells, as CSV) or gzip/zlib streams."""
    import io

    import pyarrow.parquet as pq

    forms = [data]
    if data[:4] == b"PAR1" and data[-4:] == b"PAR1":
        forms.append(pq.read_table(io.BytesIO(data)).to_pandas().to_csv().encode())
    for magic, decompress in ((b"\x1f\x8b", gzip.decompress), (b"\x78", zlib.decompress)):
        if data.startswith(magic):
            try:
                forms.append(decompress(data))
            except (OSError, zlib.error, EOFError):
                pass
    return forms


def leaking(text_or_bytes: str | bytes) -> bool:
    data = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
    return any(MARKER in form.lower() for form in decoded(data))


def files_leaking(folder: Path, skip: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(every file searched under `folder`, those that hold a planted value)."""
    searched, found = [], []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if not path.is_file() or path.is_symlink() or relative.startswith(skip):
            continue
        searched.append(relative)
        if leaking(path.read_bytes()):
            found.append(relative)
    return searched, found


def planted_table(source: Path) -> pd.DataFrame:
    """The sampled credit table with an Email and a Name column, in the order a real export might have them."""
    table = pd.read_csv(source)
    table.insert(0, "Email", [email(number) for number in range(len(table))])
    table.insert(6, "Name", [name(number) for number in range(len(table))])
    return table


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 600-row project with planted personal columns, reproduced from nothing (no dvc.lock, no metrics, an empty cache)."""
    repo = small_credit_project(tmp_path_factory.mktemp("planted") / "repo", gates=[])
    planted_table(repo / RAW_TABLE).to_csv(repo / RAW_TABLE, index=False)
    contract = yaml.safe_load((repo / "data/contract.yaml").read_text())
    contract["columns"].update(PERSONAL)
    (repo / "data/contract.yaml").write_text(yaml.safe_dump(contract, sort_keys=False))
    result = reproduce_from_nothing(repo)
    assert not leaking(result.output)
    return repo


def as_records(table: pd.DataFrame) -> list[dict]:
    """JSON records as a client sends them: whole numbers as integers, missing values as null."""
    return [{key: None if isinstance(value, float) and math.isnan(value) else int(value) if isinstance(value, float) else value
             for key, value in row.items()} for row in table.drop(columns=["Status"]).to_dict("records")]


@pytest.fixture(scope="module")
def services(repo: Path, tmp_path_factory: pytest.TempPathFactory):
    """`services(path)`: the server on that path, started when first asked for, in a folder of its own (its log, its key)."""
    running = svc.Services(repo / "models/bundle", lambda path: svc.working_folder(tmp_path_factory.mktemp(f"service-{path}"),
                                                                                    repo / "params.yaml"))
    yield running
    running.stop()
    assert not any(leaking(server.errors) for server in running.running.values())


@pytest.fixture(scope="module")
def service(services):
    return services("onnxruntime")


@pytest.fixture(scope="module")
def answers(repo: Path, services):
    """`answers(path)`: `answered`'s requests sent to the server on that path, once."""
    sent: dict[str, dict[str, httpx.Response]] = {}

    def on(path: str) -> dict[str, httpx.Response]:
        if path not in sent:
            sent[path] = send_every_kind(repo, services(path))
        return sent[path]

    return on


@pytest.fixture(scope="module")
def answered(answers) -> dict[str, httpx.Response]:
    return answers("onnxruntime")


def send_every_kind(repo: Path, service: svc.Service) -> dict[str, httpx.Response]:
    """Every kind of request, each carrying planted values: one record, a JSON batch, a CSV batch and four 422s."""
    table = pd.read_csv(repo / RAW_TABLE)
    records = as_records(table)
    good = records[0]
    csv = table.drop(columns=["Status"]).iloc[400:600].to_csv(index=False)
    bad_csv = table.drop(columns=["Status"]).head(2).assign(Income=["12", "PLANTED-INCOME"]).to_csv(index=False)
    post = lambda path, **body: httpx.post(f"{service.url}{path}", timeout=60, **body)  # noqa: E731
    return {
        "one": post("/predict", json=good),
        "json batch": post("/predict/batch", json=records[:400]),
        "csv batch": post("/predict/batch", content=csv, headers={"Content-Type": "text/csv"}),
        "personal field of the wrong type": post("/predict", json={**good, "Email": [email(9000)]}),
        "planted value in a number field": post("/predict/batch", json=[good, {**good, "Income": name(9001)}]),
        "planted value in an unknown field": post("/predict", json={**good, "Nickname": name(9002)}),
        "bad csv row beside planted cells": post("/predict/batch", content=bad_csv, headers={"Content-Type": "text/csv"}),
    }


def test_the_pipeline_writes_no_planted_value_anywhere(repo: Path) -> None:
    searched, found = files_leaking(repo, skip=(".git/", RAW_TABLE))
    assert found == []
    # What was searched includes every kind of output: the cache, data, models, metrics, the model card, the plots.
    for expected in ("data/validated.parquet", "data/prepared/train.parquet", "data/scored/batch.parquet", "models/model.joblib",
                     "models/bundle/model.joblib", "models/reference/training.parquet", "metrics/model_card.md",
                     "metrics/validate.json", "metrics/evaluate/plots/sklearn/roc.json", "metrics/monitor.html", "dvc.lock"):
        assert expected in searched
    assert sum(path.startswith(".dvc/cache/") for path in searched) > 10
    assert not {"Email", "Name"} & set(pd.read_parquet(repo / "data/validated.parquet").columns)  # withheld, not hashed
    assert leaking((repo / RAW_TABLE).read_bytes())  # the search finds them where they are


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_the_service_accepts_personal_fields_and_neither_answers_nor_stores_their_values(repo: Path, services, answers, path: str) -> None:
    service, answered = services(path), answers(path)
    assert svc.answering_runtime(service)["path"] == path
    statuses = {case: response.status_code for case, response in answered.items()}
    assert statuses == {"one": 200, "json batch": 200, "csv batch": 200, "personal field of the wrong type": 422,
                        "planted value in a number field": 422, "planted value in an unknown field": 422,
                        "bad csv row beside planted cells": 422}
    assert answered["personal field of the wrong type"].json() == {"errors": [{"field": "Email", "rule": "must be a string"}]}
    for case, response in answered.items():
        assert not leaking(response.content) and not leaking(json.dumps(dict(response.headers))), case

    folder = service.folder / "logs"
    assert (folder / "predictions.sqlite-wal").stat().st_size > 0  # the log as the running service holds it
    for log_file in LOG_FILES:
        assert not leaking((folder / log_file).read_bytes()), log_file
    key_file = folder / "pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = pseudonym_key(key_file, create=False)
    with sqlite3.connect(f"file:{folder / 'predictions.sqlite'}?mode=ro", uri=True) as log:
        inputs = [json.loads(row[0]) for row in log.execute("SELECT inputs FROM predictions ORDER BY rowid")]
        subjects = set(log.execute('SELECT "column", pseudonym FROM subjects'))
    assert len(inputs) == 601 and not any({"Email", "Name"} & set(record) for record in inputs)
    sent = as_records(pd.read_csv(repo / RAW_TABLE))
    assert [record.get("Marital") for record in inputs[1:401]] == [record["Marital"] for record in sent[:400]]  # protected: kept
    assert ("Email", pseudonym(email(7), key)) in subjects and ("Name", pseudonym(name(450), key)) in subjects
    assert len(subjects) == 2 * 600  # row 0 twice: one person, one pseudonym per column


@pytest.fixture(scope="module")
def batches(repo: Path, services, tmp_path_factory: pytest.TempPathFactory):
    """`batches(path)`: `tabular-mlops score` on that path, on the planted table with three bad rows,
    under the key of the service on that path (its folder's params), once."""
    scored: dict[str, dict] = {}

    def on(path: str) -> dict:
        if path not in scored:
            folder = tmp_path_factory.mktemp(f"batch-{path}")
            table = pd.read_csv(repo / RAW_TABLE).astype({"Income": "object"})
            table.loc[3, "Income"], table.loc[5, "Home"], table.loc[8, "Age"] = "abc", "boat", -5
            table.to_csv(source := folder / "input.csv", index=False)
            result = subprocess.run([sys.executable, "-m", "tabular_mlops", "score", str(source), "--output", str(folder / "scored.parquet"),
                                     "--model", str(repo / "models/bundle"), "--rejects", str(folder / "rejects.csv"), "--quiet",
                                     *svc.runtime_arguments(path)],
                                    cwd=services(path).folder, env=environment(), capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr
            scored[path] = {"output": result.stdout + result.stderr, "scored": folder / "scored.parquet", "rejects": folder / "rejects.csv"}
        return scored[path]

    return on


@pytest.fixture(scope="module")
def batch(batches) -> dict:
    return batches("onnxruntime")


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_batch_scoring_writes_personal_columns_as_the_services_pseudonyms(services, batches, path: str) -> None:
    service, batch = services(path), batches(path)
    assert "scored 597 rows, rejected 3 rows (of 600 read)" in batch["output"] and not leaking(batch["output"])
    assert not leaking(batch["scored"].read_bytes()) and not leaking(batch["rejects"].read_bytes())
    key = pseudonym_key(service.folder / "logs/pseudonym.key", create=False)
    scored, rejects = pd.read_parquet(batch["scored"]), pd.read_csv(batch["rejects"])
    assert scored.loc[0, "Email"] == pseudonym(email(0), key) and scored.loc[0, "Name"] == pseudonym(name(0), key)
    assert rejects["row"].tolist() == [3, 5, 8] and rejects["Email"].tolist() == [pseudonym(email(row), key) for row in (3, 5, 8)]


def monitor(repo: Path, current: str) -> dict:
    update_params(repo, lambda params: params["monitor"].update(current=current))
    result = dvc(repo, "repro", "monitor")
    assert result.returncode == 0, result.output
    assert not leaking(result.output)
    return json.loads((repo / "metrics/monitor.json").read_text())


def test_the_monitor_on_the_log_and_on_a_scored_batch_shows_no_planted_value(repo: Path, service, answered, batch: dict) -> None:
    window = read_scored(service.folder / "logs/predictions.sqlite")
    assert "Marital" in window.columns and not {"Email", "Name"} & set(window.columns)
    window.to_parquet(repo / "data/scored/from_log.parquet", index=False)
    shutil.copy(batch["scored"], repo / "data/scored/planted.parquet")
    for current in ("data/scored/from_log.parquet", "data/scored/planted.parquet"):
        report = monitor(repo, current)
        assert report["status"] == "ok" and report["rows"] >= 300, current  # a verdict, with its plots
        for output in ("metrics/monitor.json", "metrics/monitor.md", "metrics/monitor.html"):
            assert not leaking((repo / output).read_bytes()), (current, output)
    assert files_leaking(repo, skip=(".git/", RAW_TABLE))[1] == []


def erase(folder: Path, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tabular_mlops", "erase", *arguments], cwd=folder, env=environment(),
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_erase_removes_a_persons_predictions_feedback_and_the_bytes_of_their_pseudonyms(service, answered) -> None:
    folder = service.folder
    key = pseudonym_key(folder / "logs/pseudonym.key", create=False)
    first = answered["one"].json()["prediction_id"]
    assert httpx.post(f"{service.url}/feedback", json={"prediction_id": first, "outcome": "bad"}).status_code == 200

    def predictions_of(value: str) -> list[str]:
        with sqlite3.connect(f"file:{folder / 'logs/predictions.sqlite'}?mode=ro", uri=True) as log:
            return [row[0] for row in log.execute("SELECT prediction_id FROM subjects WHERE pseudonym = ?", (pseudonym(value, key),))]

    person, other = predictions_of(email(0)), predictions_of(name(5))
    assert len(person) == 2 and first in person and len(other) == 1  # row 0 was sent twice
    by_value = erase(folder, "--value", email(0))
    by_stdin = erase(folder, "--value", "-", stdin=f"{name(5)}\n")
    assert by_value.returncode == by_stdin.returncode == 0, by_value.stderr + by_stdin.stderr
    assert by_value.stdout.startswith("erased 2 predictions of that person") and by_stdin.stdout.startswith("erased 1 prediction of")
    assert not any(leaking(text) for text in (by_value.stdout, by_value.stderr, by_stdin.stdout, by_stdin.stderr))
    assert predictions_of(email(0)) == predictions_of(name(0)) == predictions_of(name(5)) == []
    assert len(predictions_of(email(6))) == 1  # everybody else stays
    with sqlite3.connect(f"file:{folder / 'logs/predictions.sqlite'}?mode=ro", uri=True) as log:
        assert log.execute("SELECT COUNT(*) FROM feedback WHERE prediction_id = ?", (first,)).fetchone() == (0,)
        assert log.execute("SELECT COUNT(*) FROM predictions").fetchone() == (598,)
    gone = [pseudonym(value, key).encode() for value in (email(0), name(0), email(5), name(5))] + [first.encode()]
    for log_file in LOG_FILES:
        data = (folder / "logs" / log_file).read_bytes()
        assert not any(value in data for value in gone), log_file
    again = erase(folder, "--value", email(0))
    assert again.returncode == 0 and again.stdout.startswith("no predictions of that person")
