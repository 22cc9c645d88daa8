"""Champion and challenger on the same rows: their figures, the paired bootstrap interval of the gain, and the decision to promote or keep."""
