"""keepalived.conf lexing: physical lines, comments, words, brace splitting.

keepalived reads a line, removes its comment (`decomment`), and after the
preprocessing steps (conditionals, parameters, sequences, include; see
preprocess.py) cuts the line at its first unquoted brace and splits what is
left into words.  These functions do the character-level parts of that, on a
line held as `LineText`: the text plus the source column of every character,
so that every word keeps its position through escapes, substitution and
brace splitting.

Columns are 1-based and count characters (a tab is one column; a byte that
is not UTF-8 is one character, decoded with surrogateescape).

`SIMPLE_LINE` recognises the common line (printable ASCII, no quotes,
escapes, `$`, `~`, `@`) for the fast path in scan.py, which gives the same
result as these functions without per-character column lists;
`special_lines` finds, for a whole file at once, the few lines that are not
plain (no comment either), so that the others need no per-line test.
"""

from __future__ import annotations

import re

# keepalived's WHITE_SPACE: what separates words.
WHITESPACE = " \t\f\n\r\v"
# isblank(): what decomment() strips around a line.
BLANK = " \t"
MAX_LINE_BYTES = 1023   # keepalived 2.2.7 reads lines with fgets(buf, 1024)

_BOM = "\ufeff"


def decode(data: bytes) -> tuple[str, bool]:
    """Bytes of a file -> (text, had_bom).  Never fails: bytes that are not
    UTF-8 become lone surrogates (one character each), as os.fsdecode does."""
    text = data.decode("utf-8", "surrogateescape")
    if text.startswith(_BOM):
        return text[1:], True
    return text, False


def physical_lines(text: str) -> list[str]:
    """Split like fgets: on '\\n' only.  Other line-break characters
    (\\r alone, \\v, \\f, U+2028) stay inside the line, as in keepalived."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class LineText:
    """A line being preprocessed: its text, the column of each character,
    and the file and line every character of it is attributed to."""

    __slots__ = ("s", "cols", "file", "line", "depth", "quote_reported")

    def __init__(self, s: str, cols: list[int], file: str, line: int, depth: int = 0) -> None:
        self.s = s
        self.cols = cols
        self.file = file
        self.line = line
        self.depth = depth               # multi-line definitions this line is nested in
        self.quote_reported = False      # a quote error was already reported for this line

    def derive(self, s: str, cols: list[int]) -> "LineText":
        """The same line with other text (after a change or a brace split)."""
        t = LineText(s, cols, self.file, self.line, self.depth)
        t.quote_reported = self.quote_reported
        return t

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "LineText(%r @ %s:%d)" % (self.s, self.file, self.line)


def decomment(s: str, cols: list[int]) -> tuple[str, list[int], int | None]:
    """keepalived's decomment(): strip leading blanks, cut the comment, turn
    `\\#` and `\\!` outside double quotes into `#` and `!`, strip trailing
    blanks (and blanks before a final `\\`, which is kept).

    Returns (text, cols, index of an unterminated '"' or None).
    A comment starts at the first `#` or `!` outside double quotes; a
    backslash and the character after it are left alone otherwise (so `\\"`
    does not open or close a quote).  Like keepalived >= 2.4 (and unlike
    2.2.7) a `\\` at the end of a comment is part of the comment.
    """
    n = len(s)
    i = 0
    while i < n and s[i] in BLANK:
        i += 1
    out: list[str] = []
    ocols: list[int] = []
    quote_at: int | None = None      # index in `out` of the open quote
    cont_col = 0
    cont = False
    while i < n:
        c = s[i]
        if c == '"':
            quote_at = None if quote_at is not None else len(out)
            out.append(c)
            ocols.append(cols[i])
            i += 1
        elif c == "\\":
            if i + 1 < n:
                nxt = s[i + 1]
                if quote_at is None and (nxt == "#" or nxt == "!"):
                    out.append(nxt)
                    ocols.append(cols[i + 1])
                else:
                    out.append(c)
                    out.append(nxt)
                    ocols.append(cols[i])
                    ocols.append(cols[i + 1])
                i += 2
            else:
                cont = True
                cont_col = cols[i]
                break
        elif (c == "#" or c == "!") and quote_at is None:
            break
        else:
            out.append(c)
            ocols.append(cols[i])
            i += 1
    end = len(out)
    while end and out[end - 1] in BLANK:
        end -= 1
    if end != len(out):
        del out[end:]
        del ocols[end:]
    if cont:
        out.append("\\")
        ocols.append(cont_col)
    return "".join(out), ocols, quote_at


def tokenize(s: str, cols: list[int]) -> tuple[list[tuple[str, int, bool]], int | None]:
    """keepalived's alloc_strvec(): split into words.

    A word starting with '"' runs to the next '"' (quotes removed, blanks
    kept, no escapes); any other word ends at whitespace or at a '"'.
    Returns ([(text, col, quoted)], index of an unmatched '"' or None); the
    text after an unmatched quote is dropped, as keepalived does.
    """
    words: list[tuple[str, int, bool]] = []
    n = len(s)
    i = 0
    while True:
        while i < n and s[i] in WHITESPACE:
            i += 1
        if i >= n:
            return words, None
        if s[i] == '"':
            j = s.find('"', i + 1)
            if j < 0:
                return words, i
            words.append((s[i + 1:j], cols[i], True))
            i = j + 1
        else:
            j = i + 1
            while j < n and s[j] not in WHITESPACE and s[j] != '"':
                j += 1
            words.append((s[i:j], cols[i], False))
            i = j


def find_brace(s: str) -> int:
    """Index of the first '{' or '}' outside "...", or -1.

    As keepalived's read_line: a quote with no closing quote ends the
    search (braces after it are not found)."""
    if s and (s[0] == "{" or s[0] == "}"):
        return 0
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "{" or c == "}":
            return i
        if c == '"':
            j = s.find('"', i + 1)
            if j < 0:
                return -1
            i = j + 1
        else:
            i += 1
    return -1


def split_brace(s: str, cols: list[int]) -> tuple[tuple[str, list[int]], tuple[str, list[int]] | None]:
    """Cut a line at its first unquoted brace (read_line in keepalived).

    Returns (head, residue or None).  A line starting with a brace gives the
    brace alone as head and the rest (blanks skipped) as residue; otherwise
    the head is the text before the brace and the residue starts with it.
    Trailing blanks are stripped from both."""
    p = find_brace(s)
    if p < 0:
        return (s, cols), None
    if p == 0:
        skip = 1
        n = len(s)
        while skip < n and s[skip] in BLANK:
            skip += 1
        head = (s[:1], cols[:1])
    else:
        skip = p
        end = p
        while end and s[end - 1] in BLANK:
            end -= 1
        head = (s[:end], cols[:end])
    rest = s[skip:]
    if not rest:
        return head, None
    end = len(rest)
    while end and rest[end - 1] in BLANK:
        end -= 1
    if not end:
        return head, None
    return head, (rest[:end], cols[skip:skip + end])


# --- the fast path -----------------------------------------------------------

# A line made only of printable ASCII and tabs, with none of the characters
# that need the general path ('"' quotes, '\\' escapes, '$' parameters, '~'
# sequences, '@' conditionals), followed by an optional comment (anything).
# Group 1 is the content, leading blanks excluded.
# (printable ASCII except ! " # $ @ \ and ~, as a positive class: a negated
# class up to U+10FFFF costs milliseconds to compile at every start)
SIMPLE_CHARS = r"[\t %-?A-\[\]-}]"
# Possessive (*+): neither group can give back a character that would start
# the comment, so backtracking could never help; without it a line that does
# not match is retried at every position.
SIMPLE_LINE = re.compile(r"[ \t]*+(" + SIMPLE_CHARS + r"*+)(?:[#!].*)?", re.S)

# The bytes of a plain line: SIMPLE_CHARS, and no comment either.  A plain
# line is blanks and words, perhaps braces; nothing else in it needs reading.
PLAIN_BYTES = bytes([9] + [c for c in range(0x20, 0x7F) if chr(c) not in '!"#$@\\~'])
_MAX_MARKS = 8


def special_lines(data: bytes) -> set[int]:
    """Indices (0-based) of the lines of `data` - the bytes of a file, split
    at b'\\n' - that are not plain or that hold the word `include`: the lines
    the reader's fast path must look at one by one.  A '\\r' ending a line is
    no reason (split_lines strips it).

    The few special bytes are found in the whole text with bytes.find (C
    speed), instead of testing every line."""
    found: set[int] = set()
    odd = set(data.translate(None, PLAIN_BYTES + b"\n"))
    if len(odd) > _MAX_MARKS:       # much non-ASCII text, say: one regex pass
        search = re.compile(rb"[^\n" + re.escape(PLAIN_BYTES) + rb"]").search

        def find(d: bytes, start: int) -> int:
            m = search(d, start)
            return -1 if m is None else m.start()

        _mark_lines(data, find, found, crlf=True)
    else:
        for byte in odd:
            mark = bytes((byte,))
            _mark_lines(data, lambda d, start, mark=mark: d.find(mark, start), found,
                        crlf=byte == 13)
    if b"include" in data:
        _mark_lines(data, lambda d, start: d.find(b"include", start), found)
    return found


def _mark_lines(data: bytes, find, found: set, crlf: bool = False) -> None:
    """Add the index of each line in which find(data, start) -> index finds
    something; with crlf, not when all it finds is the '\\r's ending the line."""
    line = 0
    last = 0
    at = find(data, 0)
    while at >= 0:
        line += data.count(b"\n", last, at)
        nl = data.find(b"\n", at)
        if not crlf or data[at:len(data) if nl < 0 else nl].strip(b"\r"):
            found.add(line)
        if nl < 0:
            return
        line += 1
        last = nl + 1
        at = find(data, last)
