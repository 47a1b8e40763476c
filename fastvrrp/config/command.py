"""Script command lines: keepalived's second tokenizer (reference §1.3).

`script`, `notify*` and the fifo-script keywords are re-split with shell-like
rules: both '...' and "..." quote (and concatenate: abc"d e"f -> `abcd ef`),
backslash escapes are decoded everywhere (\\a \\b \\E \\f \\n \\r \\t \\v,
\\NNN octal, \\xHH hex, \\cC control, \\X -> X).  keepalived 2.2.7 splits
twice: the whole line into `keyword COMMAND [USER [GROUP]]`, then COMMAND
into argv; both passes decode escapes.
"""

from __future__ import annotations

import re

from .ast import Word
from .convert import BadValue
from .model import Command

# keepalived's blanks are exactly " \t\f\n\r\v" (not Unicode spaces such as U+3000)
_WORDS = re.compile("[^ \t\f\n\r\v]+").findall
_DQ_WORDS = re.compile('(?:[^ \t\f\n\r\v"]+|"[^"]*")+').findall
_SIMPLE = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
           "t": "\t", "v": "\v"}
_WS = " \t\f\n\r\v"
_HEX = "0123456789abcdefABCDEF"


def split_command(text: str) -> list[str]:
    """Split like keepalived's alloc_strvec_quoted_escaped; BadValue on bad quoting."""
    if "\\" not in text and "'" not in text:
        if '"' not in text:
            return _WORDS(text)
        if not text.count('"') & 1:   # balanced double quotes only: the common case
            return [w.replace('"', "") for w in _DQ_WORDS(text)]
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in _WS:
            i += 1
        if i >= n:
            break
        word: list[str] = []
        quote = ""
        while i < n:
            c = text[i]
            if c == "\\":
                i += 1
                if i >= n:
                    raise BadValue("missing escaped character at the end of '%s'" % text)
                c = text[i]
                if c == "x" and i + 1 < n and text[i + 1] in _HEX:
                    i += 1
                    val = 0
                    while i < n and text[i] in _HEX:
                        val = ((val << 4) | int(text[i], 16)) & 0xFF
                        i += 1
                    word.append(chr(val))
                elif c == "c" and i + 1 < n:
                    word.append(chr(ord(text[i + 1]) & 0x1F))
                    i += 2
                elif "0" <= c <= "7":
                    val = 0
                    for _ in range(3):
                        if i < n and "0" <= text[i] <= "7":
                            val = (val << 3) + ord(text[i]) - 48
                            i += 1
                        else:
                            break
                    word.append(chr(val & 0xFF))
                else:
                    word.append(_SIMPLE.get(c, c))
                    i += 1
                continue
            if quote:
                if c == quote:
                    quote = ""
                else:
                    word.append(c)
                i += 1
                continue
            if c in ("'", '"'):
                quote = c
                i += 1
                continue
            if c in _WS:
                break
            word.append(c)
            i += 1
        if quote:
            raise BadValue("unterminated %s quote in '%s'" % (quote, text))
        out.append("".join(word))
    return out


def raw_text(words: tuple[Word, ...]) -> str:
    """Rebuild the source text of words for the second tokenizer."""
    return " ".join('"%s"' % w.text if w.quoted else w.text for w in words)


def parse_command(args: tuple[Word, ...], with_user: bool = True,
                  line: str | None = None) -> tuple[Command, list[str]]:
    """`COMMAND [USER [GROUP]]` -> (Command, ignored extra words).

    `line` is the whole logical line (Node.text, keyword included) when the
    reader kept it: keepalived re-splits exactly that.  Raises BadValue for an
    empty command or bad quoting.
    """
    if line is not None:
        slots = split_command(line)[1:]
    elif len(args) == 1 and not args[0].quoted and "\\" not in args[0].text \
            and "'" not in args[0].text:
        slots = [args[0].text]
    else:
        slots = split_command(raw_text(args))
    if not slots or not slots[0].strip(_WS):
        raise BadValue("empty command")
    argv = split_command(slots[0])
    if not argv:
        raise BadValue("empty command")
    user = group = None
    extra: list[str] = []
    if with_user:
        if len(slots) > 1:
            user = slots[1]
        if len(slots) > 2:
            group = slots[2]
        extra = slots[3:]
    else:
        extra = slots[1:]
    return Command(tuple(argv), user, group, args[0].pos), extra


def format_command(cmd: Command) -> str:
    """Render a Command as one double-quoted keepalived word plus user/group.

    keepalived splits the line twice (both passes decode escapes), so each
    argument is quoted for the second pass, and the result escaped for the
    first: inside the double quotes only \\ and octal escapes appear (a `"`
    would end the word for the reader, a `$` would be substituted).
    """
    inner = " ".join(_quote_arg(a) for a in cmd.argv)
    out = '"%s"' % "".join(_escape_char(c) for c in inner)
    if cmd.user is not None:
        out += " " + _slot(cmd.user)
        if cmd.group is not None:
            out += " " + _slot(cmd.group)
    return out


def _slot(text: str) -> str:
    """A user/group word: decoded by the first pass only."""
    if text and all(c.isalnum() or c in _PLAIN for c in text):
        return text
    return '"%s"' % "".join(_escape_char(c) for c in text)


def _quote_arg(arg: str) -> str:
    if arg and all(c.isalnum() or c in _PLAIN for c in arg):
        return arg
    return "'%s'" % arg.replace("\\", "\\\\").replace("'", "\\'")


def _escape_char(c: str) -> str:
    if c == "\\":
        return "\\\\"
    if c in "\"$" or c < " " or c == "\x7f":
        return "\\%03o" % ord(c)
    return c


_PLAIN = frozenset("/._-+=:,@%<>^~[]()*?&|;")
