"""Group fairness: group labels, per-group metrics with intervals, gaps, and mitigation.

A pure library: no stage reads params here; callers pass the arrays and the settings.
"""
