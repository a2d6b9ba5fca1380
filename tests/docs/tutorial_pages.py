"""Reading a tutorial page: its `sh` blocks are what a reader types, and the `text` block that
follows each is what they should see. Pure functions, so the matching rules are unit-tested
apart from the system the commands run against."""

from __future__ import annotations

import re
from dataclasses import dataclass

FENCE = re.compile(r"^```(\w*)\s*$")
WILDCARD = "…"


@dataclass(frozen=True)
class Step:
    """One `sh` block and the output expected of it (None: the page shows none)."""

    commands: str
    expected: str | None


def steps(markdown: str) -> list[Step]:
    """The page's `sh` blocks in order, each with the `text` block that is the next fenced block
    after it, if that is a `text` block. Other blocks (`text` blocks of commands not to run, a
    `mermaid` diagram) are left alone."""
    blocks: list[tuple[str, str]] = []
    language: str | None = None
    lines: list[str] = []
    for line in markdown.splitlines():
        fence = FENCE.match(line)
        if fence and language is None:
            language, lines = fence.group(1), []
        elif fence and not fence.group(1):
            blocks.append((language or "", "\n".join(lines)))
            language = None
        elif language is not None:
            lines.append(line)
    if language is not None:
        raise ValueError("a fenced block is never closed")
    found: list[Step] = []
    for index, (kind, body) in enumerate(blocks):
        if kind != "sh":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        expected = following[1] if following and following[0] == "text" else None
        found.append(Step(body, expected))
    return found


def line_pattern(expected_line: str) -> re.Pattern[str]:
    """An expected line as a pattern for a whole output line; `…` stands for anything."""
    parts = [re.escape(part) for part in expected_line.split(WILDCARD)]
    return re.compile(".*".join(parts))


def missing_lines(expected: str, output: str) -> list[str]:
    """The expected lines not found in the output in their order (each after the one before);
    empty when all are there. Blank expected lines are layout, not output."""
    wanted = [line.rstrip() for line in expected.splitlines() if line.strip()]
    got = [line.rstrip() for line in output.splitlines()]
    position = 0
    for number, line in enumerate(wanted):
        pattern = line_pattern(line)
        while position < len(got) and not pattern.fullmatch(got[position]):
            position += 1
        if position == len(got):
            return wanted[number:]
        position += 1
    return []
