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

With `on_top`, each top-level Node goes to that callback as soon as it is
finished (its block closed) instead of into the tuple `finish()` returns:
a consumer can use a block, and let it go, while the rest is read.

`level` is the list of Nodes of the block being read; the preprocessor's
fast path appends leaf Nodes to it directly.  A block's head Node is given
its children when the block closes (fastnodes.set_block): until then only
this builder holds it.
"""

from __future__ import annotations

from collections.abc import Callable

from .ast import Diagnostics, Node, Pos, Word
from .fastnodes import brace_pos, new_node, set_block

_set = object.__setattr__

# global_defs keywords that change how the rest is read.
READER_KEYWORDS = frozenset(("include_check", "random_seed"))


def _describe(node: Node) -> str:
    return " ".join(w.text for w in node.words[:2])


class TreeBuilder:
    def __init__(self, diags: Diagnostics,
                 on_global: Callable[[tuple[Word, ...]], None] | None = None,
                 on_top: Callable[[Node], None] | None = None) -> None:
        self.diags = diags
        self.on_top = on_top                 # given: finished top-level Nodes go there
        self.root: list[Node] = []
        self.level: list[Node] = self.root
        # open blocks: (head line, or None for a stray '{'; the level it belongs to;
        # its '{', or None for a plain head line: brace_pos(head); the global_level
        # to go back to when it closes)
        self.stack: list[tuple] = []
        # the children of the top-level global_defs block, while it is being read
        self.global_level: list[Node] | None = None
        self.skip = 0                        # depth of blocks dropped with a conditional line
        self.dropped: Pos | None = None   # the last line was dropped by its '@' condition
        self.on_global = on_global

    def global_keyword(self, node: Node) -> None:
        if self.on_global is not None and node.texts[0] in READER_KEYWORDS:
            self.on_global(node.words)

    # -- events from the preprocessor -------------------------------------------

    def line(self, words: tuple[Word, ...], text: str) -> None:
        if self.skip:
            return
        self.dropped = None
        node = new_node(words, None, None, text)
        self.level.append(node)
        if self.level is self.global_level:
            self.global_keyword(node)

    def plain(self, node: Node) -> None:
        """A line from the fast path (which runs only when no block is being
        skipped and no conditional line was just dropped)."""
        self.level.append(node)
        if self.level is self.global_level:
            self.global_keyword(node)

    def open_head(self, head: Node) -> None:
        """A plain line `keyword args {` from the fast path: the same as
        plain(head) then open() (the brace's Pos is made only if needed)."""
        level = self.level
        outer = self.global_level
        if level is outer:
            self.global_keyword(head)
        stack = self.stack
        stack.append((head, level, None, outer))
        self.level = []
        self.global_level = (self.level if len(stack) == 1 and head.texts[0] == "global_defs"
                             else None)

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
        stack = self.stack
        if level and level[-1].children is None:
            head = level.pop()
            stack.append((head, level, pos, self.global_level))
        else:
            self.diags.error(pos, "'{' with no keyword before it; its contents are read as if the "
                             "braces were not there", "unexpected-open-brace")
            head = None
            stack.append((None, level, pos, self.global_level))
        self.level = []
        self.global_level = (self.level if len(stack) == 1 and head is not None
                             and head.texts[0] == "global_defs" else None)

    def close(self, pos: Pos) -> None:
        if self.skip:
            self.skip -= 1
            return
        self.dropped = None
        stack = self.stack
        if not stack:
            self.diags.error(pos, "extra '}' with no block to close - ignored", "extra-close-brace")
            return
        head, parent, _, self.global_level = stack.pop()
        if head is None:
            parent.extend(self.level)
        else:
            # fastnodes.set_block(head, ...), inline: a block closes every few lines
            _set(head, "children", tuple(self.level))
            _set(head, "close", pos)
            parent.append(head)
        self.level = parent
        if not stack and self.on_top is not None:
            if len(parent) == 1 and head is not None:
                parent.pop()                 # the usual case: one block at a time
                self.on_top(head)
            else:
                self._hand_over(keep_last_line=True)

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
            head, parent, pos, _ = self.stack.pop()
            if head is None:
                self.diags.error(pos, "missing '}': this '{' is not closed at the end of the "
                                 "configuration", "missing-close-brace")
                parent.extend(self.level)
            else:
                if pos is None:
                    pos = brace_pos(head)
                self.diags.error(pos, "missing '}': the block of '%s' (line %d) is not closed at the "
                                 "end of the configuration" % (_describe(head), head.pos.line),
                                 "missing-close-brace")
                set_block(head, tuple(self.level), None)
                parent.append(head)
            self.level = parent
        self.global_level = None
        if self.on_top is not None:
            self._hand_over(keep_last_line=False)
            return ()
        nodes = tuple(self.root)
        self.root.clear()           # the reader's objects hold no part of the tree
        return nodes

    def _hand_over(self, keep_last_line: bool) -> None:
        """Give the finished top-level Nodes to on_top.  A last line without a
        block is not finished: a '{' on the next line would open it."""
        root = self.root
        n = len(root)
        if keep_last_line and n and root[-1].children is None:
            n -= 1
        on_top = self.on_top
        for i in range(n):
            on_top(root[i])
        del root[:n]
