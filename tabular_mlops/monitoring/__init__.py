"""Watching a deployed model: the reference profile written at training time, drift per column, and performance estimated without labels."""
