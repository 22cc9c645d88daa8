"""`tabular-mlops demo-drift`: see the monitor fire, through the running service.

Two batches are made from the test split: the split itself (nothing changed) and a shifted
batch built by the rule of `monitoring.shift` from the model's own inputs. Each is scored
by the service at `url` (POST /predict/batch, exactly as a client would), and the answers, in
the scored-table format with the true labels beside them, go through the monitor against
models/reference. A report per batch is written under `out`.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from tabular_mlops.config.params import Params
from tabular_mlops.data.tables import read_table
from tabular_mlops.errors import StageError
from tabular_mlops.files import write_json, write_text
from tabular_mlops.monitoring.check import check_batch
from tabular_mlops.deployment.artifact import UNSEEN, join_unseen
from tabular_mlops.monitoring.reference import Reference, read_reference
from tabular_mlops.monitoring.report import headline, html, markdown
from tabular_mlops.monitoring.shift import plan_shift, shifted_batch

TEST_SPLIT = "data/prepared/test.parquet"
REFERENCE = "models/reference"


def run_demo(params: Params, url: str, out: str | Path, seed: int, api_key: str | None = None) -> list[str]:
    """Score both batches through the service, monitor them, write the reports; a line saying
    what the shift is, then one per batch."""
    reference = read_reference(REFERENCE)
    test = read_table(TEST_SPLIT)
    shift = plan_shift(reference)
    lines = [f"shift: {shift.describe()}"]
    for name, batch in (("unshifted", test), ("shifted", shifted_batch(test, shift, seed))):
        inputs = batch[request_columns(reference)]
        answers = score_through_service(url, inputs, api_key)
        scored = pd.concat([inputs, answers_table(answers)], axis=1).assign(**{params.data.target: batch[params.data.target].to_numpy()})
        report = check_batch(scored, reference, params.monitor, f"the {name} batch", params.fairness.min_group_rows)
        folder = Path(out) / name
        write_json(folder / "monitor.json", report)
        write_text(folder / "monitor.md", markdown(report))
        write_text(folder / "monitor.html", html(report, reference, scored))
        lines.append(f"{name}: {headline(report)} (report: {folder / 'monitor.html'})")
    return lines


def request_columns(reference: Reference) -> list[str]:
    """What a client sends: the model's inputs, and the protected columns (the service accepts them,
    and the monitor compares their groups)."""
    profile = reference.profile
    return [*profile["columns"], *(name for name in profile.get("protected", {}) if name not in profile["columns"])]


def score_through_service(url: str, inputs: pd.DataFrame, api_key: str | None = None) -> list[dict]:
    """POST the rows as JSON records to {url}/predict/batch; the service's answers, in order."""
    # Whole numbers as JSON integers: the contract's integer columns are held as float64.
    records = json.loads(inputs.astype(object).where(inputs.notna(), None).to_json(orient="records", double_precision=15))
    records = [{key: int(value) if isinstance(value, float) and value.is_integer() else value for key, value in record.items()}
               for record in records]
    return post_json(url, "/predict/batch", records, api_key)["predictions"]


def post_json(url: str, path: str, body: object, api_key: str | None = None, timeout: float = 120) -> dict:
    """POST `body` as JSON to the service at `url`; its JSON answer, or StageError naming the URL
    (an error status with the start of its body, or no service there)."""
    request = urllib.request.Request(f"{url.rstrip('/')}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **({"X-API-Key": api_key} if api_key else {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise StageError(f"{url}{path} answered {error.code}: {error.read().decode(errors='replace')[:300]}") from None
    except urllib.error.URLError as error:
        raise StageError(f"{url}: no scoring service answers there ({error.reason}); start one with `tabular-mlops serve`") from None


def answers_table(answers: list[dict]) -> pd.DataFrame:
    """The service's answers as the scored table's prediction columns."""
    table = pd.DataFrame(answers)
    if "probabilities" in table:
        table = table.join(pd.DataFrame(list(table.pop("probabilities"))).add_prefix("probability:"))
    table[UNSEEN] = join_unseen(table.pop(UNSEEN))
    return table.drop(columns=["prediction_id", "model_version"])
