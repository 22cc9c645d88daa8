"""The service's Prometheus metrics on their own."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tabular_mlops.serving.telemetry import Metrics


@pytest.mark.parametrize("problem", ["classification", "regression"])
def test_scores_observed_at_once_expose_what_one_observe_per_score_does(problem: str) -> None:
    # Bucket edges exactly, both ends, beyond the last edge (+Inf), and repeats.
    scores = [0.0, 0.1, 0.1000001, 0.25, 0.5, 0.5, 0.99, 1.0, 1.5, 12.0, -3.0, 0.3]
    one_by_one, at_once = Metrics(problem), Metrics(problem)
    for score in scores:
        one_by_one.scores.observe(score)
    at_once.observe_scores(scores)
    at_once.observe_scores([])
    assert samples(at_once) == samples(one_by_one)
    assert samples(at_once)[("tabular_mlops_score_count", ())] == len(scores)


def samples(metrics: Metrics) -> dict:
    """Every exposed sample but the creation times, which differ between the two."""
    families = text_string_to_metric_families(metrics.exposition().decode())
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in families for sample in family.samples if not sample.name.endswith("_created")}
