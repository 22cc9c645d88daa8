"""The base of every params section: unknown keys refused, types strict, values frozen.

Both the model families (tabular_mlops/families/, each with its own section) and the params
loader (tabular_mlops/config/, which gathers the families' sections) build on it, so it sits
below both.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # strict: YAML `"0.2"` is a string, not a number, and `1` is not `true`.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
