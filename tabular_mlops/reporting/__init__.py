"""Gates, the model card and the review of a change."""
