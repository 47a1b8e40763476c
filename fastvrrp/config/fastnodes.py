"""Quick constructors for the frozen ast classes.

The reader makes one Pos and one Word per word and one Node per line: for a
100k-line configuration that is half a million objects, and a frozen
dataclass's generated __init__ (one object.__setattr__ per field) would be
most of the reading time.

These build the very same objects twice as fast: an instance of a plain
twin class with the same __slots__ gets its fields by ordinary attribute
stores, then becomes a Pos/Word/Node by `__class__` assignment (allowed by
CPython between classes of identical layout).  The result is an instance of
the ast class, equal to (and hashing like) one made by its constructor.
At import the twins are checked against the ast classes; if anything
differs (ast.py changed shape), FAST_NODES is False and the ordinary
constructors are used everywhere.
"""

from __future__ import annotations

from dataclasses import fields

from .ast import Node, Pos, Word


class PosTwin:
    __slots__ = ("file", "line", "col")


class WordTwin:
    __slots__ = ("text", "pos", "quoted")


class NodeTwin:
    __slots__ = ("words", "children", "close", "text")


def _layout_ok() -> bool:
    try:
        for cls, twin in ((Pos, PosTwin), (Word, WordTwin), (Node, NodeTwin)):
            if tuple(f.name for f in fields(cls)) != twin.__slots__ or cls.__slots__ != twin.__slots__:
                return False
        p = PosTwin()
        p.file, p.line, p.col = "f", 1, 2
        p.__class__ = Pos
        w = WordTwin()
        w.text, w.pos, w.quoted = "t", p, True
        w.__class__ = Word
        n = NodeTwin()
        n.words, n.children, n.close, n.text = (w,), (), p, "t"
        n.__class__ = Node
        return (n == Node((Word("t", Pos("f", 1, 2), True),), (), Pos("f", 1, 2))
                and hash(p) == hash(Pos("f", 1, 2)) and n.text == "t")
    except (TypeError, AttributeError):
        return False


FAST_NODES = _layout_ok()   # the scanner's fast path builds objects the same way

if FAST_NODES:
    def make_pos(file: str, line: int, col: int) -> Pos:
        o = PosTwin()
        o.file = file
        o.line = line
        o.col = col
        o.__class__ = Pos
        return o

    def make_word(text: str, file: str, line: int, col: int, quoted: bool = False) -> Word:
        p = PosTwin()
        p.file = file
        p.line = line
        p.col = col
        p.__class__ = Pos
        o = WordTwin()
        o.text = text
        o.pos = p
        o.quoted = quoted
        o.__class__ = Word
        return o

    def make_node(words: tuple, children, close, text) -> Node:
        o = NodeTwin()
        o.words = words
        o.children = children
        o.close = close
        o.text = text
        o.__class__ = Node
        return o

else:  # pragma: no cover - only if ast.py changes shape
    def make_pos(file: str, line: int, col: int) -> Pos:
        return Pos(file, line, col)

    def make_word(text: str, file: str, line: int, col: int, quoted: bool = False) -> Word:
        return Word(text, Pos(file, line, col), quoted)

    def make_node(words: tuple, children, close, text) -> Node:
        return Node(words, children, close, text)
