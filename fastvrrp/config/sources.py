"""Where lines come from: files, in-memory text, ~SEQ/~LST generators and
the further lines of multi-line definitions.

The preprocessor keeps these on a stack and reads the newest first.  A file
is opened when it is first reached (so that "already read" is decided in
reading order): `open_source` checks it (regular, non-executable, not read
before), reads it, decodes it and splits it into physical lines.
"""

from __future__ import annotations


from .ast import Diagnostics, Pos
from . import include as inc
from .lexer import LineText, MAX_LINE_BYTES, decode, physical_lines, special_lines
from .sequence import Sequence

MAIN_FILE_CHECKS = inc.CHECK_READ | inc.CHECK_MATCH | inc.CHECK_WILDCARD


class FileSource:
    """A file being read (opened when first reached)."""
    __slots__ = ("name", "lines", "special", "index", "flags", "include_pos", "saved_check",
                 "opened")

    def __init__(self, name: str, flags: int, include_pos: Pos | None, saved_check: int) -> None:
        self.name = name                  # as displayed in positions
        self.lines: list[str] = []
        self.special: set[int] = set()    # lines (0-based) the fast path must not take
        self.index = 0                    # next line to read
        self.flags = flags                # include checks of the include keyword
        self.include_pos = include_pos    # the include line; None for a main file
        self.saved_check = saved_check    # include_check to restore when this file ends
        self.opened = False


class TextSource(FileSource):
    """Configuration text given in memory (read_text)."""
    __slots__ = ("text", "dir")

    def __init__(self, name: str, text: str, base_dir: str) -> None:
        super().__init__(name, MAIN_FILE_CHECKS, None, 0)
        self.text = text
        self.dir = base_dir


class SeqSource:
    """A ~SEQ/~LST: one template line per value set."""
    __slots__ = ("seq", "s", "cols", "file", "line", "left", "depth")

    def __init__(self, seq: Sequence, t: LineText) -> None:
        self.seq = seq
        self.depth = t.depth
        self.s = t.s[seq.template_start:]
        self.cols = t.cols[seq.template_start:]
        self.file = t.file
        self.line = t.line
        self.left = seq.count

    def next_line(self, defs) -> tuple[LineText | None, bool]:
        """(the template with the next values defined, whether that was the last)."""
        values = next(self.seq.values, None)
        self.left -= 1
        if values is None:
            return None, True
        for name, value in zip(self.seq.names, values):
            defs.set(name, value)
        return LineText(self.s, list(self.cols), self.file, self.line, self.depth), self.left <= 0


class MultiSource:
    """The second and further lines of a multi-line definition, at its use."""
    __slots__ = ("lines", "index", "file", "line", "col", "depth")

    def __init__(self, lines: list[str], file: str, line: int, col: int, depth: int) -> None:
        self.lines = lines
        self.depth = depth
        self.index = 0
        self.file = file
        self.line = line
        self.col = col

    def next_line(self, defs) -> tuple[LineText | None, bool]:
        """(the next line, attributed to the use; whether that was the last)."""
        if self.index >= len(self.lines):
            return None, True
        s = self.lines[self.index]
        self.index += 1
        return LineText(s, [self.col] * len(s), self.file, self.line, self.depth), self.index >= len(self.lines)


def _problem(src: FileSource, diags: Diagnostics, include_check: int, message: str, bit: int) -> None:
    """A file that cannot be read: an error if its include checks ask for
    it (always for the main file), else a warning (keepalived: logged only)."""
    pos = src.include_pos or Pos(src.name, 0, 0)
    code = "config-unreadable" if src.include_pos is None else "include-unreadable"
    if (include_check | src.flags) & bit:
        diags.error(pos, message, code)
    else:
        diags.warning(pos, message, code)


def open_source(src: FileSource, seen: dict, diags: Diagnostics, include_check: int) -> bool:
    """Load `src`'s lines.  False (with a diagnostic) if it is not to be read."""
    src.opened = True
    if isinstance(src, TextSource):
        text = src.text[1:] if src.text.startswith("\ufeff") else src.text
        src.lines = split_lines(text, src.name, diags)
        src.special = special_lines(text.encode("utf-8", "surrogatepass"))
        return True
    st, why = inc.check_file(src.name)
    if st is None:
        _problem(src, diags, include_check, why, inc.CHECK_READ)
        return False
    key = (st.st_dev, st.st_ino)
    first = seen.get(key)
    if first is not None:
        diags.warning(src.include_pos or Pos(src.name, 0, 0),
                      "'%s' was already read (%s); not read again" % (src.name, first), "include-repeated")
        return False
    try:
        with open(src.name, "rb") as f:
            data = f.read()
    except OSError as exc:
        _problem(src, diags, include_check, "'%s' cannot be read: %s" % (src.name, exc.strerror or exc),
                 inc.CHECK_READ)
        return False
    seen[key] = src.include_pos or Pos(src.name, 0, 0)
    text, bom = decode(data)
    if bom:
        diags.warning(Pos(src.name, 1, 1), "UTF-8 byte order mark at the start of the file ignored "
                      "(keepalived 2.2.7 reads it as part of the first word)", "bom")
    src.lines = split_lines(text, src.name, diags)
    src.special = special_lines(data)
    return True


def split_lines(text: str, name: str, diags: Diagnostics) -> list[str]:
    """Physical lines without their '\\r\\n'; a line with a NUL byte is
    reported and blanked (as keepalived >= 2.4 ignores it), an over-long
    line reported (keepalived's buffer is 1024 bytes)."""
    lines = physical_lines(text)
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
    if "\x00" in text:
        for i, line in enumerate(lines):
            if "\x00" in line:
                diags.error(Pos(name, i + 1, line.index("\x00") + 1),
                            "line contains a NUL byte - ignoring the line", "nul-byte")
                lines[i] = " "          # blank: skipped, and does not end a definition
    if lines and max(map(len, lines)) * 4 > MAX_LINE_BYTES:
        for i, line in enumerate(lines):
            if len(line) * 4 > MAX_LINE_BYTES:
                size = len(line.encode("utf-8", "surrogateescape"))
                if size > MAX_LINE_BYTES:
                    diags.warning(Pos(name, i + 1, 1), "line is %d bytes long; keepalived reads at most "
                                  "%d bytes per line (2.2.7 splits longer lines, 2.4 ignores them)"
                                  % (size, MAX_LINE_BYTES), "line-too-long")
    return lines
