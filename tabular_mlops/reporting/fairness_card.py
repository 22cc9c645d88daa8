"""The model card's fairness section: per protected column, each group's figures with their
intervals, the gaps the gates can bound, and a mitigation's cost beside its gain."""
from __future__ import annotations

SHOWN = ("selection_rate", "true_positive_rate", "false_positive_rate", "roc_auc", "mae", "rmse")


def fairness_lines(fairness: dict, mitigation: dict, min_group_rows: int, confidence: float) -> list[str]:
    if not fairness:
        return []
    lines = ["", "## Fairness (test split)", "",
             f"Per protected column of the contract; a group of fewer than {min_group_rows} rows (fairness.min_group_rows) is"
             f" \"too few rows\" and takes no part in the gaps. Intervals: {confidence:.0%} bootstrap."]
    for column, report in fairness.items():
        banded = f", in bands {report['bands']}" if report.get("bands") else ""
        present = [name for name in SHOWN if any(name in group.get("metrics", {}) for group in report["groups"])]
        lines += ["", f"### `{column}`{banded}", "", "| group | rows | " + " | ".join(present) + " |", "|---|---|" + "---|" * len(present)]
        for group in report["groups"]:
            cells = [_interval(group["metrics"][name]) for name in present] if "metrics" in group else [group["status"]] + [""] * (len(present) - 1)
            lines.append(f"| {group['group']} | {group['rows']} | " + " | ".join(cells) + " |")
        gaps = {name: value for name, value in report["gaps"].items() if name not in ("compared_groups", "reason")}
        lines += ["", "Gaps (" + ", ".join(report["gaps"]["compared_groups"]) + "): "
                  + ", ".join(f"{name} {'n/a' if value is None else f'{value:.4f}'}" for name, value in gaps.items())]
        if report["gaps"].get("reason"):
            lines.append(f"({report['gaps']['reason']})")
    if mitigation.get("mitigation", "none") != "none":
        keys = [key for key in mitigation["mitigated"]]
        lines += ["", f"### Mitigation: {mitigation['mitigation']} ({mitigation['constraint']}) on `{mitigation['column']}`", "",
                  "| | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
        for side in ("unmitigated", "mitigated", "change"):
            lines.append(f"| {side} | " + " | ".join("n/a" if mitigation[side][key] is None else f"{mitigation[side][key]:.4f}" for key in keys) + " |")
        lines += ["", "ROC-AUC of a mitigated model ranks by its probability of a positive decision; accuracy is on its own decisions."]
    return lines


def _interval(estimate: dict) -> str:
    if estimate["value"] is None:
        return "n/a"
    return f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]"
