"""The fast path of reading: plain lines straight to Nodes.

Most lines of a real keepalived.conf are plain: ASCII words, braces, perhaps
double quoted strings and a comment, no escapes, `$`, `~`, `@`, `include`.
For those keepalived's whole pipeline reduces to "cut the comment, split at
braces and blanks, keep quoted strings whole", so this loop does just that
and builds the Nodes itself; any other line goes to the preprocessor's
general path, which gives the same result for these lines too (the tests
compare the two).

Three tiers, cheapest first:

  plain lines   no quote, comment or other special character at all (the
                file source's `special` set, found for the whole file at
                once: lexer.special_lines): split at blanks; the Node keeps
                the texts and the physical line, and makes its Word/Pos
                objects only if they are asked for (fastnodes.plain_node)
  simple lines  `lexer.SIMPLE_LINE` / `QUOTED_LINE`: comments, quoted strings
  the rest      the preprocessor's general path (Preprocessor.physical)
"""

from __future__ import annotations

import re

from .ast import Node
from .fastnodes import NodeTwin, new_pos, new_word, plain_node
from .lexer import SIMPLE_CHARS, SIMPLE_LINE

# A line whose only extra is double-quoted strings of printable ASCII
# without '$' or '\\' (script "/bin/check arg").  Group 1: the content.
# (possessive, as lexer.SIMPLE_LINE)
QUOTED_LINE = re.compile(r'[ \t]*+((?:' + SIMPLE_CHARS + r'++|"[\t -!#%-\[\]-~]*+")*+)(?:[#!].*)?',
                         re.S)

# words, quoted strings and braces of such a line
_TOKEN = re.compile(r'"([^"]*)"|([{}])|[^ \t"{}]+')


def _tokens(builder, content: str, col0: int, name: str, lineno: int) -> None:
    """A fast-path line with braces or quotes: keepalived cuts it at each
    unquoted brace and splits the pieces into words."""
    words: list = []
    start = 0
    for m in _TOKEN.finditer(content):
        col = m.start() + col0
        if m.group(2) is not None:                       # a brace
            if words:
                builder.line(tuple(words), content[start:m.start()].rstrip(" \t"))
                words = []
            if m.group(2) == "{":
                builder.open(new_pos(name, lineno, col))
            else:
                builder.close(new_pos(name, lineno, col))
            continue
        if not words:
            start = m.start()
        if m.group(1) is not None:
            words.append(new_word(m.group(1), name, lineno, col, True))
        else:
            words.append(new_word(m.group(), name, lineno, col))
    if words:
        builder.line(tuple(words), content[start:].rstrip(" \t"))


def _quoted_words(content: str, col0: int, name: str, lineno: int) -> tuple:
    """The words of a QUOTED_LINE's content without braces (what _tokens
    makes of it): the parts between quotes alternate unquoted, quoted."""
    words = []
    at = 0                                   # where the part starts in content
    for k, part in enumerate(content.split('"')):
        if k & 1:                            # a quoted word: at its opening quote
            words.append(new_word(part, name, lineno, col0 + at - 1, True))
        elif part:
            p = 0
            for w in part.split():
                p = part.find(w, p)
                words.append(new_word(w, name, lineno, col0 + at + p))
                p += len(w)
        at += len(part) + 1
    return tuple(words)


def _braces(builder, raw: str, content: str, col0: int, name: str, lineno: int) -> None:
    """A plain or simple line (no quotes) with a brace: `}`, `keyword args {`,
    or braces anywhere (keepalived cuts the line at each).  `content`: the
    line without blanks around it or comment, starting at column col0."""
    if content == "}":
        builder.close(new_pos(name, lineno, col0))
    elif content[-1] == "{" and content.count("{") == 1 and "}" not in content:
        head = content[:-1].rstrip(" \t")
        if head:
            builder.plain(plain_node(tuple(head.split()), raw, name, lineno, head))
        builder.open(new_pos(name, lineno, col0 + len(content) - 1))
    else:
        _tokens(builder, content, col0, name, lineno)


def _simple(builder, raw: str, name: str, lineno: int) -> bool:
    """A line that is not plain: handled here if it is simple (True), else
    it is for the general path (False)."""
    m = SIMPLE_LINE.fullmatch(raw)
    if m is None:
        if '"' not in raw:
            return False
        m = QUOTED_LINE.fullmatch(raw)
        if m is None or "include" in m.group(1):
            return False
        content = m.group(1).rstrip(" \t")
        if "{" in content or "}" in content:
            _tokens(builder, content, m.start(1) + 1, name, lineno)
        else:
            builder.line(_quoted_words(content, m.start(1) + 1, name, lineno), content)
        return True
    content = m.group(1).rstrip(" \t")
    if not content:
        return True                              # blank or comment
    if "include" in content:
        return False
    col0 = m.start(1) + 1
    if "{" in content or "}" in content:
        _braces(builder, raw, content, col0, name, lineno)
    else:
        builder.plain(plain_node(tuple(content.split()), raw, name, lineno, content))
    return True


def pump(pp, src) -> bool:
    """Read lines of file source `src` for preprocessor `pp` until the file
    ends (True) or a line pushed a source that must be read first (False)."""
    lines = src.lines
    special = src.special
    n = len(lines)
    i = src.index
    name = src.name
    builder = pp.builder
    sources = pp.sources
    level = builder.level
    global_level = builder.global_level
    fast = pp.fast_path and pp.mdef is None and not builder.skip and builder.dropped is None
    while i < n:
        raw = lines[i]
        lines[i] = None              # read once: the line lives on in its Node, if at all
        i += 1
        if fast:
            if i - 1 not in special:
                texts = raw.split()
                if not texts:
                    continue                          # blank
                if "{" not in raw and "}" not in raw:
                    # plain_node(tuple(texts), raw, name, i), inline: the commonest line
                    node = NodeTwin()
                    node.texts = tuple(texts)
                    node.children = None
                    node.close = None
                    node._words = None
                    node._text = None
                    node._raw = raw
                    node._file = name
                    node._line = i
                    node.__class__ = Node
                    level.append(node)
                    if level is global_level:
                        builder.global_keyword(node)
                    continue
                if len(texts) == 1 and texts[0] == "}":
                    builder.close(new_pos(name, i, raw.find("}") + 1))
                elif texts[-1] == "{" and len(texts) > 1 and raw.count("{") == 1 and "}" not in raw:
                    texts.pop()                               # "keyword args {"
                    builder.open_head(plain_node(tuple(texts), raw, name, i))
                else:
                    content = raw.strip()
                    _braces(builder, raw, content, raw.find(content) + 1, name, i)
                level = builder.level
                global_level = builder.global_level
                continue
            if _simple(builder, raw, name, i):
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
