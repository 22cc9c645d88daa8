"""What a user's target column asks for: the task, the positive class and what the model outputs.

Each choice comes with the reason `tabular-mlops init` prints, so the user sees it and can
overrule it (--task, --positive-class) before the first run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd

from tabular_mlops.data.contract import as_labels
from tabular_mlops.errors import StageError

# A numeric target with more distinct values than this is a quantity to predict (regression);
# with fewer, its values are classes (a 1-5 rating, a 0/1 flag). --task overrules it.
MAX_CLASSES = 20
# Labels that usually name the event a binary model is asked about (case-insensitive).
POSITIVE_WORDS = frozenset({
    "1", "yes", "y", "true", "t", "positive", "pos", "bad", "default", "defaulted", "fraud", "churn",
    "churned", "event", "fail", "failed", "failure", "malignant", "disease", "diseased", "sick", "died",
    "dead", "death", "abnormal", "present", "spam", "high", "readmitted",
})


@dataclass(frozen=True)
class TargetChoice:
    task: str  # classification | regression
    positive_class: Optional[str]  # binary (or one class against the rest); None: every class, or regression
    classes: list[str]  # the labels as the contract writes them (empty for regression)
    reasons: list[str]  # one line per choice, for the terminal

    @property
    def output(self) -> str:
        """What the model outputs, in the words of the artifact's description."""
        if self.task == "regression":
            return "the predicted value"
        if self.positive_class is None:
            return "the probability of each class"
        return f'the probability of the class "{self.positive_class}"'


def choose(table: pd.DataFrame, target: str, source: str, task: str | None, positive_class: str | None) -> TargetChoice:
    """The task and positive class for `target`: the flags where given, else inferred from its values."""
    if target not in table.columns:
        shown = ", ".join(map(str, list(table.columns)[:12])) + (", ..." if table.shape[1] > 12 else "")
        raise StageError(f"{source}: the target column '{target}' (--target) is not in the table; its columns: {shown}")
    values = table[target].dropna()
    if values.nunique() < 2:
        found = f"one value ({str(values.iloc[0])!r})" if len(values) else "no values"
        raise StageError(f"{source}: the target '{target}' has {found} in {len(table)} rows; a model needs two classes"
                         " or more, or a quantity that varies")
    task, task_reason = _task(values, target, task)
    if task == "regression":
        if positive_class is not None:
            raise StageError(f"--positive-class: a regression target has no classes; got {positive_class!r}")
        return TargetChoice("regression", None, [], [task_reason])
    counts = as_labels(values).astype(str).value_counts()
    classes = sorted(counts.index)
    chosen, class_reason = _positive_class(counts, positive_class)
    return TargetChoice("classification", chosen, classes, [task_reason, class_reason])


def _task(values: pd.Series, target: str, flag: str | None) -> tuple[str, str]:
    distinct = values.nunique()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if flag == "regression" and not numeric:
        raise StageError(f"--task regression: the target '{target}' is not numeric (e.g. {str(values.iloc[0])!r})")
    if flag is not None:
        return flag, f"task: {flag} (--task)"
    if numeric and distinct > MAX_CLASSES:
        return "regression", (f"task: regression (the target '{target}' is numeric with {distinct} distinct values,"
                              f" more than {MAX_CLASSES}; --task classification to read them as classes)")
    if numeric:
        why = f"is numeric with {distinct} distinct values, at most {MAX_CLASSES}; --task regression to predict it as a quantity"
    else:
        why = "holds labels, not numbers; --task to choose"
    return "classification", f"task: classification, {distinct} classes (the target '{target}' {why})"


def _positive_class(counts: pd.Series, flag: str | None) -> tuple[Optional[str], str]:
    """counts: rows per label, as text."""
    classes = sorted(counts.index)
    if flag is not None:
        if flag not in classes:
            raise StageError(f"--positive-class must be one of the target's classes {classes}; got {flag!r}")
        rest = "" if len(classes) == 2 else ", against the other classes together"
        return flag, f"positive class: '{flag}' (--positive-class): the model outputs its probability{rest}"
    if len(classes) > 2:
        return None, (f"positive class: none, {len(classes)} classes: the model outputs the probability of each"
                      " (--positive-class LABEL to predict one against the rest)")
    named = [label for label in classes if label.strip().lower() in POSITIVE_WORDS]
    if len(named) == 1:
        return named[0], f"positive class: '{named[0]}' (a label that usually names the event; --positive-class to choose)"
    # Ties go to the last label in sorted order, so the choice never depends on the row order.
    rarer = min(reversed(classes), key=lambda label: counts[label])
    return rarer, (f"positive class: '{rarer}' (the rarer class, {counts[rarer]} of {counts.sum()} labelled rows;"
                   " --positive-class to choose)")
