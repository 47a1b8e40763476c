"""The syntax tree of a keepalived.conf, after preprocessing.

This is the contract between the language half of fastvrrp.config (lexer,
include, conditionals, parameter substitution, sequences: `reader.py`) and the
semantic half (keyword schema, model, checks).  The reader turns files into a
tuple of top-level `Node`s; the schema walks them.

Every word keeps where it came from (file, line, column, 1-based) through
includes and substitution, so every diagnostic can say `file:line:col:`.
A substituted word carries the position of the `$NAME` use that produced it.

A line is a Node: its words, and, when the line opened a `{ ... }` block
(the brace on the same line or on the next), the lines inside as children.
Value blocks (`virtual_ipaddress { ... }`) are the same shape: each address
line is a Node whose first word is the address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True, slots=True)
class Pos:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return "%s:%d:%d" % (self.file, self.line, self.col)


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    pos: Pos
    quoted: bool = False

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Node:
    words: tuple[Word, ...]
    children: Optional[tuple["Node", ...]] = None   # None: no block opened
    close: Optional[Pos] = None                      # where the block's `}` was
    # The logical line as keepalived's keyword handlers see it (comments
    # removed, parameters substituted, cut at braces): what the script
    # tokenizer (`script`, `notify*`) must re-split.  Not part of equality.
    text: Optional[str] = field(default=None, compare=False, repr=False)

    @property
    def pos(self) -> Pos:
        return self.words[0].pos

    @property
    def keyword(self) -> str:
        return self.words[0].text

    @property
    def args(self) -> tuple[Word, ...]:
        return self.words[1:]


ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    pos: Pos
    severity: str          # ERROR or WARNING
    message: str
    code: str = ""         # short stable id, e.g. "unknown-keyword"

    def __str__(self) -> str:
        return "%s: %s: %s" % (self.pos, self.severity, self.message)

    def as_dict(self) -> dict:
        return {
            "file": self.pos.file, "line": self.pos.line, "col": self.pos.col,
            "severity": self.severity, "message": self.message, "code": self.code,
        }


class Diagnostics:
    """Collects every problem of one run; nothing stops at the first."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, pos: Pos, message: str, code: str = "") -> None:
        self.items.append(Diagnostic(pos, ERROR, message, code))

    def warning(self, pos: Pos, message: str, code: str = "") -> None:
        self.items.append(Diagnostic(pos, WARNING, message, code))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == WARNING]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
