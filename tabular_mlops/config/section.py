"""The base of every params section: unknown keys refused, types strict, values frozen."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # strict: YAML `"0.2"` is a string, not a number, and `1` is not `true`.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
