"""Promotion and rollback decisions: is the comparison current, what it decided, where a rollback goes.

The compare stage writes metrics/compare.json: the challenger (models/bundle) against the champion
(the version promote.champion names) on the same rows, and its decision, "promote" or "keep".
Promotion acts on that decision only while it still describes the project: the challenger is
the bundle in the working tree, and the champion is the version the stage points at now.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tabular_mlops.errors import StageError
from tabular_mlops.registry.versions import ROLLBACK, Registry

COMPARISON = "metrics/compare.json"
RERUN = "run `dvc repro compare` (and commit its results)"


@dataclass(frozen=True)
class Comparison:
    decision: str  # promote | keep
    reasons: list[str]
    stage: str
    metric: str
    champion: str | None  # the champion's registered version; None: no champion
    record: dict  # what the assignment tag keeps of it

    def figure(self) -> str:
        """`roc_auc +0.0300 (95% interval +0.0100 to +0.0500)`: the challenger's gain, or just the metric."""
        difference = self.record.get("difference") or {}
        try:
            return (f"{self.metric} {difference['estimate']:+.4f} ({difference['confidence']:.0%} interval "
                    f"{difference['low']:+.4f} to {difference['high']:+.4f})")
        except (KeyError, TypeError, ValueError):
            return self.metric


def read_comparison(path: str | Path = COMPARISON) -> Comparison:
    """metrics/compare.json, checked for the keys promotion reads; a StageError naming the key otherwise."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StageError(f"{path}: not found; the compare stage writes it: {RERUN}") from None
    except (OSError, ValueError) as error:
        raise StageError(f"{path}: not valid JSON ({error}); {RERUN}") from None

    def field(*keys: str, kinds: tuple = (str,)):
        value = raw
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, kinds):
            raise StageError(f"{path}: '{'.'.join(keys)}' must be {' or '.join(_kind(kind) for kind in kinds)}; "
                             f"got {json.dumps(value)}; {RERUN}")
        return value

    decision = field("decision")
    if decision not in ("promote", "keep"):
        raise StageError(f"{path}: 'decision' must be \"promote\" or \"keep\"; got {json.dumps(decision)}; {RERUN}")
    reasons = [str(reason) for reason in field("reasons", kinds=(list,))]
    kept = {key: raw.get(key) for key in ("decision", "reasons", "metric", "rows", "difference", "min_gain")}
    return Comparison(decision, reasons, field("stage"), field("metric"), field("champion", "version", kinds=(str, type(None))), kept)


def _kind(kind: type) -> str:
    return {str: "a string", list: "a list", type(None): "null"}[kind]


def check_current(comparison: Comparison, *, stage: str, artifact: str,
                  champion_now: str | None, champion_param: str | None) -> None:
    """Refuse a comparison that no longer describes the project: another stage or another champion
    than the stage points at now (the challenger: trace.check_compared)."""
    if comparison.stage != stage:
        raise StageError(f"{COMPARISON}: compares for stage '{comparison.stage}', not '{stage}'; "
                         f"set promote.stage in params.yaml and {RERUN}")
    if comparison.champion != champion_now:
        now = f"{artifact}#{stage} is {champion_now}" if champion_now else f"no version is at {artifact}#{stage}"
        fix = "" if champion_param == champion_now else f"set promote.champion: {champion_now or 'null'} in params.yaml, "
        raise StageError(f"{COMPARISON}: stale: it compared with champion {comparison.champion or 'none'}, but {now}; "
                         f"{fix}{RERUN}")


def rollback_target(registry: Registry, stage: str) -> tuple[str, str]:
    """(the version the stage points at, the one a rollback restores): the version promoted before it.

    A rollback pops the stage's history, so a second rollback goes one promotion further back,
    never to the version the first one left."""
    history = registry.history(stage)
    name = f"{registry.artifact}#{stage}"
    if not history:
        raise StageError(f"{name}: no version is at stage '{stage}', so there is nothing to roll back")
    if len(history) < 2:
        raise StageError(f"{name}: {history[-1]} is the first version promoted to '{stage}' (or every earlier one "
                         "was rolled back), so there is nothing to roll back to")
    return history[-1], history[-2]


def promotion_record(comparison: Comparison, version: str, champion: str | None, by: str, reason: str | None) -> tuple[str, dict]:
    """The assignment tag's summary line and record: promoted on the comparison, or forced with a reason."""
    over = f" over {champion}" if champion else ""
    record = {"action": "forced" if reason else "promote", "from": champion, "to": version, "by": by,
              "comparison": comparison.record}
    if reason:
        record["reason"] = reason
        return f"forced promotion of {version}{over} by {by}: {reason} (the comparison said keep)", record
    return f"promote {version}{over}: {comparison.figure()}", record


def rollback_record(current: str, previous: str, by: str) -> tuple[str, dict]:
    return f"rollback from {current} to {previous} by {by}", {"action": ROLLBACK, "from": current, "to": previous, "by": by}


def note(event_record: dict, stage: str) -> str | None:
    """What `tabular-mlops versions` says beside a version about one of its assignments, if anything."""
    action, by = event_record.get("action"), event_record.get("by", "?")
    if action == "forced":
        return f"forced to {stage} by {by}: {event_record.get('reason', '')}"
    if action == ROLLBACK:
        return f"{stage}: rollback to it from {event_record.get('from', '?')} by {by}"
    return None
