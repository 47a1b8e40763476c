"""The fast path of reading: plain lines straight to Nodes.

Most lines of a real keepalived.conf are plain: ASCII words, perhaps double
quoted strings, braces and a comment (`lexer.SIMPLE_LINE`, `QUOTED_LINE`:
no escapes, `$`, `~`, `@`, no `include`).  For those keepalived's whole
pipeline reduces to "cut the comment, split at braces and blanks, keep
quoted strings whole", so this loop does just that and builds the Nodes
itself; any other line goes to the preprocessor's general path, which gives
the same result for these lines too (the tests compare the two).

Pos, Word and Node are built through their twin classes (see fastnodes.py),
inline: this loop is most of the reading time of a large configuration.
"""

from __future__ import annotations

import re

from .ast import Node, Pos, Word
from .fastnodes import FAST_NODES, NodeTwin, PosTwin, WordTwin, make_pos, make_word
from .lexer import SIMPLE_CHARS, SIMPLE_LINE

# A line whose only extra is double-quoted strings of printable ASCII
# without '$' or '\\' (script "/bin/check arg").  Group 1: the content.
QUOTED_LINE = re.compile(r'[ \t]*((?:' + SIMPLE_CHARS + r'|"[\t -!#%-\[\]-~]*")*)(?:[#!].*)?', re.S)

# words, quoted strings and braces of such a line
_TOKEN = re.compile(r'"([^"]*)"|([{}])|[^ \t"{}]+')


def _tokens(builder, content: str, col0: int, name: str, lineno: int) -> None:
    """A fast-path line with braces or quotes: keepalived cuts it at each
    unquoted brace and splits the pieces into words."""
    words: list[Word] = []
    start = 0
    for m in _TOKEN.finditer(content):
        col = m.start() + col0
        if m.group(2) is not None:                       # a brace
            if words:
                builder.line(tuple(words), content[start:m.start()].rstrip(" \t"))
                words = []
            if m.group(2) == "{":
                builder.open(make_pos(name, lineno, col))
            else:
                builder.close(make_pos(name, lineno, col))
            continue
        if not words:
            start = m.start()
        if m.group(1) is not None:
            words.append(make_word(m.group(1), name, lineno, col, True))
        else:
            words.append(make_word(m.group(), name, lineno, col))
    if words:
        builder.line(tuple(words), content[start:].rstrip(" \t"))


def pump(pp, src) -> bool:
    """Read lines of file source `src` for preprocessor `pp` until the file
    ends (True) or a line pushed a source that must be read first (False)."""
    lines = src.lines
    n = len(lines)
    i = src.index
    name = src.name
    builder = pp.builder
    fullmatch = SIMPLE_LINE.fullmatch
    quoted_match = QUOTED_LINE.fullmatch
    sources = pp.sources
    if not FAST_NODES:
        pp.fast_path = False
    level = builder.level
    global_level = builder.global_level
    fast = pp.fast_path and pp.mdef is None and not builder.skip and builder.dropped is None
    while i < n:
        raw = lines[i]
        i += 1
        if fast:
            m = fullmatch(raw)
            if m is None and '"' in raw:
                m = quoted_match(raw)
                if m is not None and "include" not in m.group(1):
                    _tokens(builder, m.group(1), m.start(1) + 1, name, i)
                    level = builder.level
                    global_level = builder.global_level
                    fast = not builder.skip
                    continue
                m = None
            if m is not None:
                content = m.group(1).rstrip(" \t")
                if not content:
                    continue                      # blank or comment
                if "include" not in content:
                    col0 = m.start(1) + 1
                    opens = False
                    if "{" in content or "}" in content:
                        if content == "}":
                            builder.close(make_pos(name, i, col0))
                            level = builder.level
                            global_level = builder.global_level
                            fast = not builder.skip
                            continue
                        if content[-1] == "{" and content.count("{") == 1 and "}" not in content:
                            opens = True               # "keyword args {"
                            brace_col = col0 + len(content) - 1
                            content = content[:-1].rstrip(" \t")
                        else:
                            _tokens(builder, content, col0, name, i)
                            level = builder.level
                            global_level = builder.global_level
                            fast = not builder.skip
                            continue
                    if content:
                        words = []
                        p = col0
                        # words one blank apart (the usual case): columns add up
                        single = "  " not in content and "\t" not in content
                        for w in content.split():
                            if not single:
                                p = content.find(w, p - col0) + col0
                            o = PosTwin()
                            o.file = name
                            o.line = i
                            o.col = p
                            o.__class__ = Pos
                            wd = WordTwin()
                            wd.text = w
                            wd.pos = o
                            wd.quoted = False
                            wd.__class__ = Word
                            words.append(wd)
                            p += len(w) + 1
                        node = NodeTwin()
                        node.words = tuple(words)
                        node.children = None
                        node.close = None
                        node.text = content
                        node.__class__ = Node
                        level.append(node)
                        if level is global_level:
                            builder.global_keyword(node.words)
                    if opens:
                        builder.open(make_pos(name, i, brace_col))
                        level = builder.level
                        global_level = builder.global_level
                        fast = not builder.skip
                    continue
        src.index = i
        pp.physical(raw, name, i)
        if sources[-1] is not src:
            return False
        level = builder.level
        global_level = builder.global_level
        fast = pp.fast_path and pp.mdef is None and not builder.skip and builder.dropped is None
    src.index = i
    return True
