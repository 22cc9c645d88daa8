"""What the service answers per row, and the feedback it accepts: plain functions of plain values."""
from __future__ import annotations

import json
import os
import time

import numpy as np

from tabular_mlops.data.contract import Contract
from tabular_mlops.serving.schema import RequestError


def new_ids(count: int) -> list[str]:
    """UUID version 7 hex ids (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.

    Time-ordered because they are the prediction log's primary key: random (version 4) keys
    land all over its B-tree, so a 1,000-row commit rewrote about a page per row and slowed as
    the log grew (3 times slower at 100,000 logged rows, and worse beyond); these append at
    its end, at the same cost at any size (benchmarks/prediction_log.py). 74 bits stay random,
    from one read of the system's random source."""
    octets = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    octets[:, :6] = np.frombuffer((time.time_ns() // 1_000_000).to_bytes(6, "big"), dtype=np.uint8)
    octets[:, 6] = octets[:, 6] & 0x0F | 0x70  # version 7
    octets[:, 8] = octets[:, 8] & 0x3F | 0x80  # RFC 9562 variant
    text = octets.tobytes().hex()
    return [text[32 * i:32 * i + 32] for i in range(count)]


FEEDBACK_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["prediction_id", "outcome"],
                   "properties": {"prediction_id": {"type": "string"}, "outcome": {"type": ["string", "number"]}}}


def feedback_outcome(body: bytes, contract: Contract, problem: str) -> tuple[str, object]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestError([{"field": None, "rule": "the body must be valid JSON"}]) from None
    if not isinstance(data, dict):
        raise RequestError([{"field": None, "rule": "must be a JSON object with prediction_id and outcome"}])
    errors = [{"field": name, "rule": "is required"} for name in ("prediction_id", "outcome") if name not in data]
    errors += [{"field": str(name)[:100], "rule": "is not a field of feedback"} for name in data if name not in ("prediction_id", "outcome")]
    if errors:
        raise RequestError(errors)
    prediction_id, outcome = data["prediction_id"], data["outcome"]
    if not isinstance(prediction_id, str):
        raise RequestError([{"field": "prediction_id", "rule": "must be a string"}])
    if problem == "regression":
        if isinstance(outcome, bool) or not isinstance(outcome, (int, float)) or outcome != outcome or abs(outcome) == float("inf"):
            raise RequestError([{"field": "outcome", "rule": "must be a finite number (the target is numeric)"}])
        return prediction_id, float(outcome)
    classes = contract.columns[contract.target].categories or []
    if not isinstance(outcome, str) or outcome not in classes:
        raise RequestError([{"field": "outcome", "rule": f"must be a class of {contract.target}: {', '.join(classes)}"}])
    return prediction_id, outcome


def answer(problem: str, version: str, prediction_id: str, output: dict) -> dict:
    answer = {"prediction_id": prediction_id, "model_version": version}
    if problem == "classification":
        answer.update(probability=output["probability"], decision=output["decision"])
        if "points" in output:  # a scorecard (deployment/scorecard.py)
            answer["points"] = output["points"]
    elif problem == "multiclass":
        answer["probabilities"] = {key.split(":", 1)[1]: value for key, value in output.items() if key.startswith("probability:")}
        answer["decision"] = output["decision"]
    else:
        answer["prediction"] = output["prediction"]
    answer["unseen_categories"] = output["unseen_categories"]
    return answer


def headline_score(problem: str, answer: dict) -> float:
    if problem == "classification":
        return answer["probability"]
    if problem == "multiclass":
        return max(answer["probabilities"].values())
    return answer["prediction"]
