"""metrics/compare.md, and the lines the stage and the command print (latency included)."""
from __future__ import annotations

from tabular_mlops.promotion.metric import LABELS


def markdown(result: dict) -> str:
    """A table, champion | challenger | gain, per figure (the compared metric's gain with its
    interval), then the decision and its reasons."""
    champion, challenger, difference = result["champion"], result["challenger"], result["difference"]
    name = result["metric"]
    title = champion["version"] or "none (first version)"
    lines = [f"# Champion and challenger on the same {result['rows']} rows", "",
             f"Champion: {title}{_model(champion)}. Challenger: models/bundle{_model(challenger)}, "
             f"gates {'passed' if challenger['gates_passed'] else 'failed'}. Registry stage: {result['stage']}.", "",
             "| figure | champion | challenger | gain |", "|---|---|---|---|"]
    gain = "" if difference is None else (f"{difference['estimate']:.4f} [{difference['low']:.4f}, {difference['high']:.4f}] "
                                          f"({difference['confidence']:.0%}, {difference['rounds']} paired resamples)")
    lines.append(f"| {LABELS[name]} | {_number(champion.get(name))} | {_number(challenger.get(name))} | {gain} |")
    for figure in ("brier", "ece"):
        if figure in challenger and figure != name:
            lines.append(f"| {LABELS.get(figure, 'expected calibration error')} | {_number(champion.get(figure))} | "
                         f"{_number(challenger[figure])} | |")
    for key, value in challenger.get("fairness", {}).items():
        lines.append(f"| fairness.{key} | {_number(champion.get('fairness', {}).get(key))} | {_number(value)} | |")
    lines += ["", f"Decision: **{result['decision']}** (promote.min_gain {result['min_gain']:g})", ""]
    lines += [f"- {reason}" for reason in result["reasons"]]
    return "\n".join(lines) + "\n"


def latency_lines(timings: dict[str, dict[str, float]]) -> list[str]:
    """One line per model: {"champion v1.0.0": {...}, "challenger": {...}} from latency()."""
    return [f"latency, {who}: {figures['median_ms_per_row']:.2f} ms per row (median of one-row calls), "
            f"{figures['ms_per_1000_rows']:.1f} ms per 1,000 rows" for who, figures in timings.items()]


def summary_line(result: dict) -> str:
    return f"{result['decision']}: " + "; ".join(result["reasons"])


def _model(side: dict) -> str:
    return f" (model {side['model_version']})" if side.get("model_version") else ""


def _number(value) -> str:
    return "" if value is None else f"{value:.4f}"
