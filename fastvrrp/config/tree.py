"""Build the syntax tree from the stream of logical lines.

The preprocessor hands over, in order, word lines and the braces keepalived
cuts off into lines of their own.  A `{` opens a block for the word line just
before it (on the same line or the next: keepalived accepts both); `}`
closes the innermost block.  The tree does not know which keywords take a
block: a `{` after any line makes that line's Node a block, and the keyword
schema decides whether that is right (so an unknown sub-block is one Node
with children, skipped whole, instead of keepalived's "its `}` closes the
parent").

Brace problems are diagnostics: a `}` with no open block, a `{` with no
line before it (its contents are kept at the current level), and blocks
still open at the end (closed there, `close` left None).

`level` is the list of Nodes of the block being read; the preprocessor's
fast path appends leaf Nodes to it directly.
"""

from __future__ import annotations

from typing import Callable, Optional

from .ast import Diagnostics, Node, Pos, Word
from .fastnodes import make_node

# global_defs keywords that change how the rest is read.
READER_KEYWORDS = frozenset(("include_check", "random_seed"))


def _describe(node: Node) -> str:
    return " ".join(w.text for w in node.words[:2])


class TreeBuilder:
    def __init__(self, diags: Diagnostics,
                 on_global: Optional[Callable[[tuple[Word, ...]], None]] = None) -> None:
        self.diags = diags
        self.root: list[Node] = []
        self.level: list[Node] = self.root
        # open blocks: (head line, or None for a stray '{'; the level it belongs to; its '{')
        self.stack: list[tuple[Optional[Node], list[Node], Pos]] = []
        # the children of the top-level global_defs block, while it is being read
        self.global_level: Optional[list[Node]] = None
        self.skip = 0                        # depth of blocks dropped with a conditional line
        self.dropped: Optional[Pos] = None   # the last line was dropped by its '@' condition
        self.on_global = on_global

    def global_keyword(self, words: tuple[Word, ...]) -> None:
        if self.on_global is not None and words[0].text in READER_KEYWORDS:
            self.on_global(words)

    # -- events from the preprocessor -------------------------------------------

    def line(self, words: tuple[Word, ...], text: str) -> None:
        if self.skip:
            return
        self.dropped = None
        self.level.append(make_node(words, None, None, text))
        if self.level is self.global_level:
            self.global_keyword(words)

    def open(self, pos: Pos) -> None:
        if self.skip:
            self.skip += 1
            return
        if self.dropped is not None:
            # the line before was dropped by its '@' condition: so is its block
            self.dropped = None
            self.skip = 1
            return
        level = self.level
        if level and level[-1].children is None:
            head = level.pop()
            self.stack.append((head, level, pos))
        else:
            self.diags.error(pos, "'{' with no keyword before it; its contents are read as if the "
                             "braces were not there", "unexpected-open-brace")
            self.stack.append((None, level, pos))
        self.level = []
        stack = self.stack
        self.global_level = (self.level if len(stack) == 1 and stack[0][0] is not None
                             and stack[0][0].words[0].text == "global_defs" else None)

    def close(self, pos: Pos) -> None:
        if self.skip:
            self.skip -= 1
            return
        self.dropped = None
        if not self.stack:
            self.diags.error(pos, "extra '}' with no block to close - ignored", "extra-close-brace")
            return
        stack = self.stack
        head, parent, _ = stack.pop()
        if head is None:
            parent.extend(self.level)
        else:
            parent.append(make_node(head.words, tuple(self.level), pos, head.text))
        self.level = parent
        self.global_level = (parent if len(stack) == 1 and stack[0][0] is not None
                             and stack[0][0].words[0].text == "global_defs" else None)

    def skip_blocks(self, depth: int) -> None:
        """A dropped conditional line opened `depth` blocks: drop them too."""
        self.skip += depth

    def dropped_line(self, pos: Pos) -> None:
        """A conditional line was dropped; a '{' right after it opens a block
        that is dropped too."""
        if not self.skip:
            self.dropped = pos

    def finish(self) -> tuple[Node, ...]:
        while self.stack:
            head, parent, pos = self.stack.pop()
            if head is None:
                self.diags.error(pos, "missing '}': this '{' is not closed at the end of the "
                                 "configuration", "missing-close-brace")
                parent.extend(self.level)
            else:
                self.diags.error(pos, "missing '}': the block of '%s' (line %d) is not closed at the "
                                 "end of the configuration" % (_describe(head), head.pos.line),
                                 "missing-close-brace")
                parent.append(make_node(head.words, tuple(self.level), None, head.text))
            self.level = parent
        self.global_level = None
        return tuple(self.root)
