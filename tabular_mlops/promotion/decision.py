"""The rule: promote the challenger, or keep the champion, with every reason in plain words.

Promote iff the challenger passed every gate (metrics/gates.json), every gated fairness gap holds
on the compared rows, and either there is no champion yet (the first version) or the gain is more
than promote.min_gain and the lower end of its interval is above zero.
"""
from __future__ import annotations


def decide(*, champion_version: str | None, same_model: bool, failed_gates: list[str], broken_gaps: list[str],
           difference: dict | None, metric_label: str, min_gain: float) -> tuple[str, list[str]]:
    """("promote" | "keep", reasons). `failed_gates`, `broken_gaps`: one sentence each;
    `difference`: paired_gain's result, None without a champion."""
    keep = [*failed_gates, *broken_gaps]
    if champion_version is None:
        return ("keep", keep) if keep else ("promote", ["first version: there is no champion (promote.champion is null)"])
    if same_model:  # the gain is zero by construction: nothing else to say about it
        return "keep", [*keep, f"the challenger is the champion ({champion_version}): the same model"]
    estimate, low, high = difference["estimate"], difference["low"], difference["high"]
    interval = f"[{low:.3f}, {high:.3f}]"
    if not estimate > min_gain:
        keep.append(f"the gain in {metric_label}, {estimate:.3f}, is not more than promote.min_gain {min_gain:g}")
    if not low > 0:
        where = "includes zero" if high >= 0 else "lies below zero"
        keep.append(f"the {difference['confidence']:.0%} interval of the gain, {interval}, {where}")
    if keep:
        return "keep", keep
    return "promote", [f"the gain in {metric_label} over {champion_version}, {estimate:.3f}, is more than promote.min_gain "
                       f"{min_gain:g}, and its {difference['confidence']:.0%} interval {interval} lies above zero"]
