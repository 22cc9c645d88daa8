"""Building, scoring and choosing models: the pipeline, scoring and CV, the leaderboard, the search, the final fit."""
