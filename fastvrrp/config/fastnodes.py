"""Quick constructors for the frozen ast classes (Pos, Word, Node).

The reader makes a Node per line and, where it must, a Word and a Pos per
word: hundreds of thousands of objects for a big configuration.  A frozen
class cannot take ordinary attribute stores (a frozen dataclass's generated
__init__ sets every field through object.__setattr__, which would be most of
the reading time), so these build the very same objects through a plain twin
class with the same __slots__ (ordinary attribute stores), then turn them into
Pos/Word/Node by `__class__` assignment (CPython allows it between classes of
identical layout).  The result is an instance of the real class, equal to
(and hashing like) one made by its constructor.  The layouts are checked at
import.

Two kinds of Node:
  new_node(words, ...)   the general path: its Words are given
  plain_node(texts, raw, ...)
                         a plain line (unquoted words separated by blanks):
                         only the texts; the Words are made from the physical
                         line `raw` on first use of `Node.words` (plain_words)
"""

from __future__ import annotations

from .ast import Node, Pos, Word


class PosTwin:
    __slots__ = ("file", "line", "col")


class WordTwin:
    __slots__ = ("text", "pos", "quoted")


class NodeTwin:
    __slots__ = ("texts", "children", "close", "_words", "_text", "_raw", "_file", "_line")


def new_pos(file: str, line: int, col: int) -> Pos:
    o = PosTwin()
    o.file = file
    o.line = line
    o.col = col
    o.__class__ = Pos
    return o


def new_word(text: str, file: str, line: int, col: int, quoted: bool = False) -> Word:
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


def new_node(words: tuple, children, close, text) -> Node:
    """Node(words, children, close, text) for a tuple of Words."""
    o = NodeTwin()
    o.texts = tuple([w.text for w in words])
    o.children = children
    o.close = close
    o._words = words
    o._text = text
    o._raw = None
    o._file = None
    o._line = 0
    o.__class__ = Node
    return o


def plain_node(texts: tuple, raw: str, file: str, line: int, text: str | None = None) -> Node:
    """The Node of a plain line: `texts` are unquoted words separated by
    blanks in the physical line `raw`, line `line` of `file` (perhaps ending
    with the '{' of its block, not in `texts`).  `text`: the logical line,
    when it is not what precedes any '{' in `raw`, without blanks around it
    (Node.text works that out when asked).  scan.py inlines this for its
    commonest line."""
    o = NodeTwin()
    o.texts = texts
    o.children = None
    o.close = None
    o._words = None
    o._text = text
    o._raw = raw
    o._file = file
    o._line = line
    o.__class__ = Node
    return o


def plain_words(texts: tuple, raw: str, file: str, line: int) -> tuple:
    """The Words of a plain Node: each text found in the physical line."""
    words = []
    p = 0
    for t in texts:
        p = raw.find(t, p)
        words.append(new_word(t, file, line, p + 1))
        p += len(t)
    return tuple(words)


def brace_pos(node: Node) -> Pos:
    """Where the '{' is on the plain line of `node` (a block's head line)."""
    return new_pos(node._file, node._line, node._raw.find("{") + 1)


def set_block(node: Node, children: tuple, close) -> None:
    """Give the head line of a block its children and closing brace.  Only
    for the tree builder, which owns a head Node until its block is closed."""
    object.__setattr__(node, "children", children)
    object.__setattr__(node, "close", close)


def _layouts_match() -> bool:
    # (runs while ast.py is still importing this module: no Node.words here)
    return (PosTwin.__slots__ == Pos.__slots__ and WordTwin.__slots__ == Word.__slots__
            and NodeTwin.__slots__ == Node.__slots__
            and new_word("t", "f", 1, 2, True) == Word("t", Pos("f", 1, 2), True)
            and type(plain_node(("a",), "a", "f", 1)) is Node
            and plain_words(("a", "b"), " a  b", "f", 3)
            == (Word("a", Pos("f", 3, 2)), Word("b", Pos("f", 3, 5))))


if not _layouts_match():  # pragma: no cover - only if ast.py changes shape
    raise ImportError("fastvrrp.config.fastnodes: the twin classes no longer match ast.py")
