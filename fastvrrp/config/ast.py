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

`Node.texts` holds the words' texts alone: what a consumer needs to find a
keyword and most values.  The reader makes most Nodes (plain lines of plain
words) without their `Word`/`Pos` objects: those are made on first use of
`Node.words`, from the physical line, and are equal to what the general
path makes (fastnodes.py builds Nodes both ways).
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass


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


class Node:
    """One logical line: `words`, and `children` when it opened a block.

        Node(words, children=None, close=None, text=None)

    words     tuple[Word, ...] (at least one)
    texts     tuple[str, ...]: the words' texts
    children  None (no block opened) or tuple[Node, ...]
    close     Pos of the block's `}` (None: no block, or not closed)
    text      the logical line as keepalived's keyword handlers see it
              (comments removed, parameters substituted, cut at braces): what
              the script tokenizer (`script`, `notify*`) must re-split; None
              when not kept.  Not part of equality.

    Immutable; equal and hashing alike when words, children and close are.
    """

    __slots__ = ("texts", "children", "close", "_words", "_text", "_raw", "_file", "_line")

    def __init__(self, words, children=None, close=None, text=None) -> None:
        words = tuple(words)
        _set = object.__setattr__
        _set(self, "texts", tuple([w.text for w in words]))
        _set(self, "children", children)
        _set(self, "close", close)
        _set(self, "_words", words)
        _set(self, "_text", text)
        _set(self, "_raw", None)
        _set(self, "_file", None)
        _set(self, "_line", 0)

    @property
    def words(self) -> tuple[Word, ...]:
        words = self._words
        if words is None:
            words = _fast.plain_words(self.texts, self._raw, self._file, self._line)
            object.__setattr__(self, "_words", words)
        return words

    @property
    def text(self) -> str | None:
        text = self._text
        if text is None and self._raw is not None:
            raw = self._raw          # a plain line: no comment, perhaps the '{' of a block
            cut = raw.find("{")
            return (raw if cut < 0 else raw[:cut]).strip()
        return text

    @property
    def pos(self) -> Pos:
        words = self._words
        if words is not None:
            return words[0].pos
        # fastnodes.new_pos(...), inline: builds ask every line for its position
        p = _fast.PosTwin()
        p.file = self._file
        p.line = self._line
        p.col = self._raw.find(self.texts[0]) + 1
        p.__class__ = Pos
        return p

    @property
    def keyword(self) -> str:
        return self.texts[0]

    @property
    def args(self) -> tuple[Word, ...]:
        return self.words[1:]

    def __eq__(self, other):
        if other.__class__ is not Node:
            return NotImplemented
        return (self.words == other.words and self.children == other.children
                and self.close == other.close)

    def __hash__(self) -> int:
        return hash((self.words, self.children, self.close))

    def __repr__(self) -> str:
        return "Node(words=%r, children=%r, close=%r)" % (self.words, self.children, self.close)

    def __reduce__(self):
        return (Node, (self.words, self.children, self.close, self.text))

    def __setattr__(self, name, value):
        raise FrozenInstanceError("cannot assign to field %r" % name)

    def __delattr__(self, name):
        raise FrozenInstanceError("cannot delete field %r" % name)


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


# fastnodes.py builds the classes above quickly; Node.words and Node.pos use it.
# (A module reference: either of the two modules may be imported first.)
from . import fastnodes as _fast  # noqa: E402
