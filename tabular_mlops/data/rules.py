"""The data contract's row rules in the words users read: one text per rule.

validate checks a whole table with pandera (validation.py) and batch scoring checks it row by
row with numpy (rows.py); both take their texts from here, so they say the same thing about
the same value. No pandera here: scoring a file does not pay for importing it.
"""
from __future__ import annotations

NOT_NUMERIC = "must be numeric"
NOT_EMPTY = "must not be empty"
WHOLE_NUMBER = "must hold whole numbers"
FINITE = "must be a finite number"
DATETIME_RULE = "must be an ISO 8601 date or timestamp (e.g. 2024-01-31 or 2024-01-31T14:05:00)"


def one_of(categories: list[str] | None) -> str:
    return f"must be one of {categories}"


def at_least(minimum: float) -> str:
    return f"must be >= {minimum:g}"


def at_most(maximum: float) -> str:
    return f"must be <= {maximum:g}"
