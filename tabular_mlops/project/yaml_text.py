"""Edits to params.yaml and dvc.yaml made as text, so every comment and the layout stay as they were.

Only block-style mappings as these files write them (two spaces per level, `key: value  # comment`
on one line) are edited; anything else is refused rather than guessed at. The caller parses the
result to check that it says what was meant.
"""
from __future__ import annotations

import re

import yaml

from tabular_mlops.errors import StageError

_ENTRY = re.compile(r"^(?P<indent> *)(?P<key>[^\s#:][^:#]*):(?P<value>[^#]*?)(?P<gap>\s*)(?P<comment>#.*)?$")


def scalar(value) -> str:
    """`value` as a one-line YAML flow scalar: quoted where YAML would read it as something else ('yes', '1')."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def set_block_values(text: str, block: str, values: dict, path: str) -> str:
    """Set `block.key: value` for each of `values` (a top-level block); a key not there is added at its end.
    `path`: the file `text` was read from, for the messages."""
    lines = text.split("\n")
    start, stop = _block(lines, block, path)
    missing = dict(values)
    for index in range(start + 1, stop):
        match = _ENTRY.match(lines[index])
        if match and len(match["indent"]) == 2 and match["key"] in missing:
            lines[index] = _with_value(match, scalar(missing.pop(match["key"])))
    last = max(index for index in range(start, stop) if lines[index].strip())  # after the last entry, before blank lines
    lines[last + 1:last + 1] = [f"  {key}: {scalar(value)}" for key, value in missing.items()]
    return "\n".join(lines)


def set_first_entry(text: str, block: str, name: str, values: dict, path: str) -> str:
    """Rename the first entry of a top-level block to `name` and set its `values` (dvc.yaml's
    artifact); a block not there is appended."""
    lines = text.split("\n")
    try:
        start, stop = _block(lines, block, path)
    except StageError:
        body = "".join(f"\n    {key}: {scalar(value)}" for key, value in values.items())
        return text.rstrip("\n") + f"\n\n{block}:\n  {name}:{body}\n"
    entries = [index for index in range(start + 1, stop) if (match := _ENTRY.match(lines[index])) and len(match["indent"]) == 2]
    if not entries:
        raise StageError(f"{path}: '{block}:' has no entry to rename")
    first, end = entries[0], (entries[1] if len(entries) > 1 else stop)
    lines[first] = _with_key(_ENTRY.match(lines[first]), name)
    missing = dict(values)
    for index in range(first + 1, end):
        match = _ENTRY.match(lines[index])
        if match and len(match["indent"]) == 4 and match["key"] in missing:
            lines[index] = _with_value(match, scalar(missing.pop(match["key"])))
    last = max(index for index in range(first, end) if lines[index].strip())
    lines[last + 1:last + 1] = [f"    {key}: {scalar(value)}" for key, value in missing.items()]
    return "\n".join(lines)


def _block(lines: list[str], block: str, path: str) -> tuple[int, int]:
    """The line of `block:` and the line after its last indented or comment line."""
    starts = [index for index, line in enumerate(lines) if re.match(rf"^{re.escape(block)}:\s*(#.*)?$", line)]
    if len(starts) != 1:
        raise StageError(f"{path}: expected one top-level '{block}:' block; found {len(starts)}")
    stop = starts[0] + 1
    while stop < len(lines) and (not lines[stop].strip() or lines[stop].startswith(" ")):
        stop += 1
    return starts[0], stop


def _with_value(match: re.Match, value: str) -> str:
    """The line with its value replaced; a comment keeps its column where the value leaves room."""
    head = f"{match['indent']}{match['key']}: {value}"
    if not match["comment"]:
        return head
    column = match.start("comment")
    return f"{head}{' ' * max(2, column - len(head))}{match['comment']}"


def _with_key(match: re.Match, key: str) -> str:
    line = f"{match['indent']}{key}:{match['value']}"
    return f"{line}{match['gap']}{match['comment']}" if match["comment"] else line
