"""Model families, the leaderboard, the search and the final fit."""
