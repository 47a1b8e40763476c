"""From files to logical lines: keepalived's read_line (keepalived-vrrp.md §1.10).

For each line, in this order:

    strip \\r; skip empty lines; decomment (comments, \\# \\!, blanks)
    inside a multi-line $NAME= definition: append the line to it
    repeat: '@id ' / '@^id ' keeps or drops the line          (§1.7)
            '$NAME=value' defines, the line is used up         (§1.8)
            '~SEQ(...)' / '~LST(...)' starts a generator, used up (§1.9)
            a line starting with '~' is left alone
            '$NAME' / '${NAME}' substituted, comments removed again;
            again while the line starts with '@' or still has a '$' that expands
    'include ...' reads the matching files, in place          (§1.6)
    cut at the first unquoted brace; the rest goes round again (§1.4)
    split into words -> the tree builder

Lines come from a stack of sources: files, ~SEQ/~LST generators and the
further lines of multi-line definitions; the newest source is read first
(a brace-split residue goes before all of them).  The common line (plain
ASCII words, braces, comments) takes a fast path that needs none of this.

Deliberate differences from keepalived 2.2.7 are listed in
docs/config-differences.md ("Language").
"""

from __future__ import annotations

import os

from .ast import Diagnostics, Pos, Word
from . import include as inc
from .lexer import LineText, decomment, split_brace, tokenize
from .params import Definitions, ParamError
from .sequence import SequenceError, parse_lst, parse_seq
from .scan import pump
from .sources import MAIN_FILE_CHECKS, FileSource, MultiSource, SeqSource, TextSource, open_source
from .tree import TreeBuilder

# Lines produced by ~SEQ/~LST and multi-line definitions, in all: a bound
# for definitions that expand themselves forever.
MAX_GENERATED_LINES = 1_000_000
MAX_SOURCE_DEPTH = 1000
MAX_MULTILINE_DEPTH = 100
MAX_REPROCESS = 1000


class Preprocessor:
    def __init__(self, diags: Diagnostics, config_id: str, include_check: int = 0,
                 fast_path: bool = True, on_top=None) -> None:
        self.diags = diags
        self.fast_path = fast_path            # False: every line takes the general path (tests)
        self.config_id = config_id
        # on_top: each finished top-level Node goes there (see TreeBuilder)
        self.builder = TreeBuilder(diags, self._global_keyword, on_top)
        self.defs = Definitions(config_id, self._pwd)
        self.sources: list = []
        self.seen: dict[tuple[int, int], Pos] = {}
        self.mdef = None                  # multi-line Definition being read
        self.include_check = include_check
        self.generated = 0
        self.base_dir = ""

    # -- entry points ---------------------------------------------------------------

    def read_files(self, paths: list[str]) -> None:
        for path in reversed(paths):
            self.sources.append(FileSource(path, MAIN_FILE_CHECKS, None, self.include_check))
        self._run()

    def read_text(self, text: str, filename: str, base_dir: str) -> None:
        self.base_dir = base_dir
        self.sources.append(TextSource(filename, text, base_dir))
        self._run()

    def finish(self):
        if self.mdef is not None:
            self.defs.finish(self.mdef)
            self.mdef = None
        return self.builder.finish()

    # -- where we are ---------------------------------------------------------------

    def _current_file(self) -> FileSource | None:
        for src in reversed(self.sources):
            if isinstance(src, FileSource) and src.opened:
                return src
        return None

    def _dir(self) -> str:
        """Directory (as displayed) that relative include patterns start from."""
        cur = self._current_file()
        if cur is None:
            return self.base_dir
        if isinstance(cur, TextSource):
            return cur.dir
        return os.path.dirname(cur.name)

    def _pwd(self) -> str:
        return os.path.abspath(self._dir() or ".")

    # -- the source loop ------------------------------------------------------------

    def _run(self) -> None:
        sources = self.sources
        while sources:
            src = sources[-1]
            if isinstance(src, FileSource):
                if not src.opened and not self._open(src):
                    sources.pop()
                    self.include_check = src.saved_check
                    continue
                if pump(self, src):
                    sources.pop()
                    self.include_check = src.saved_check
                continue
            t = self._next_generated(src)
            if t is None:
                continue
            self._logical(t)

    def _next_generated(self, src) -> LineText | None:
        """Next line of a generator; a generator is removed as soon as it
        has given its last line (as keepalived frees it)."""
        self.generated += 1
        if self.generated > MAX_GENERATED_LINES:
            where = Pos(src.file, src.line, src.col if isinstance(src, MultiSource) else 1)
            self.diags.error(where, "~SEQ/~LST and multi-line definitions produce more than %d lines; "
                             "stopped expanding them" % MAX_GENERATED_LINES, "expansion-limit")
            while self.sources and not isinstance(self.sources[-1], FileSource):
                self.sources.pop()
            return None
        t, finished = src.next_line(self.defs)
        if finished:
            self.sources.pop()
        return t

    def _push(self, src) -> bool:
        if len(self.sources) >= MAX_SOURCE_DEPTH:
            where = Pos(src.file, src.line, getattr(src, "col", 1))
            self.diags.error(where, "expansions nested more than %d deep (a definition or include "
                             "that uses itself?); not expanded" % MAX_SOURCE_DEPTH, "expansion-limit")
            return False
        self.sources.append(src)
        return True

    # -- files ----------------------------------------------------------------------

    def _open(self, src: FileSource) -> bool:
        return open_source(src, self.seen, self.diags, self.include_check)

    # -- the general path -------------------------------------------------------------

    def physical(self, raw: str, name: str, lineno: int) -> None:
        """One line from a file that the fast path does not handle."""
        if not raw:
            if self.mdef is not None:        # an empty line ends a multi-line definition
                self.defs.finish(self.mdef)
                self.mdef = None
            return
        s, cols, quote = decomment(raw, list(range(1, len(raw) + 1)))
        t = LineText(s, cols, name, lineno)
        if quote is not None:
            self._unterminated(t, quote)
        if not s:
            return                           # comment or blank: does not end a definition
        if self.mdef is not None:
            if not self.defs.add_line(self.mdef, s):
                self.defs.finish(self.mdef)
                self.mdef = None
            return
        self._logical(t)

    def _unterminated(self, t: LineText, index: int) -> None:
        self.diags.error(Pos(t.file, t.line, t.cols[index]),
                         "unterminated quote: no closing '\"' on this line", "unterminated-quote")
        t.quote_reported = True

    def _logical(self, t: LineText | None) -> None:
        """A decommented line from any source, and the residues of its braces."""
        while t is not None:
            if self.mdef is not None:       # a generated line while a definition is being read
                if not t.s or not self.defs.add_line(self.mdef, t.s):
                    self.defs.finish(self.mdef)
                    self.mdef = None
                return
            if not t.s:
                return
            t = self._expand(t)
            if t is None or not t.s:
                return
            if t.s.startswith("include"):
                found = inc.parse_include(t.s)
                if found is not None:
                    self._include(t, *found)
                    return
            head, residue = split_brace(t.s, t.cols)
            self._emit(t, head[0], head[1])
            if residue is None:
                return
            t = t.derive(residue[0], residue[1])

    def _expand(self, t: LineText) -> LineText | None:
        """Conditionals, definitions, sequences and substitution.
        Returns the line to go on with, or None if it was used up or dropped."""
        s, cols = t.s, t.cols
        for _ in range(MAX_REPROCESS):
            if s[0] == "@":
                k = 2 if s[1:2] == "^" else 1
                end = k
                while end < len(s) and s[end] not in " \t":
                    end += 1
                if end >= len(s):
                    return None                      # '@id' with nothing after it
                keep = (s[k:end] == self.config_id) != (k == 2)
                j = end
                while j < len(s) and s[j] in " \t":
                    j += 1
                if not keep:
                    self._dropped(t, s[j:], cols[0])
                    return None
                s, cols = s[j:], cols[j:]
                if not s:
                    return None
            if s[0] == "$":
                d = self.defs.parse_definition(s)
                if d is not None:
                    if d.multiline:
                        self.mdef = d
                    return None
            if s.startswith("~SEQ") or s.startswith("~LST"):
                self._sequence(t.derive(s, cols))
                return None
            if s[0] == "~" or "$" not in s:
                break
            try:
                s2, cols2, uses = self.defs.substitute(s, cols)
            except ParamError as exc:
                self.diags.error(Pos(t.file, t.line, cols[s.index("$")]), str(exc), "recursive-param")
                return None
            if not uses:
                break
            s, cols, quote = decomment(s2, cols2)
            if quote is not None and not t.quote_reported:
                self.diags.error(Pos(t.file, t.line, cols[quote]),
                                 "unterminated quote after parameter substitution", "unterminated-quote")
                t.quote_reported = True
            multi = [use for use in uses if use.rest is not None]
            if multi:
                depth = t.depth + len(multi)
                if depth > MAX_MULTILINE_DEPTH:
                    self.diags.error(Pos(t.file, t.line, multi[0].col),
                                     "multi-line definitions nested more than %d deep (a definition "
                                     "that uses itself?); not expanded" % MAX_MULTILINE_DEPTH,
                                     "expansion-limit")
                    return None
                t = t.derive(t.s, t.cols)
                t.depth = depth
                for use in multi:
                    if use.rest and not self._push(MultiSource(use.rest, t.file, t.line, use.col, depth)):
                        return None
            if not s:
                return None
            if s[0] != "@" and "$" not in s:
                break
        else:
            self.diags.error(Pos(t.file, t.line, cols[0] if cols else 1),
                             "this line keeps expanding to a conditional or parameter line "
                             "(a definition that uses itself?); ignored", "recursive-param")
            return None
        return t.derive(s, cols)

    def _dropped(self, t: LineText, rest: str, col: int) -> None:
        """A line dropped by its '@' condition.  If it opens blocks (a '{'
        left open on it), those blocks are dropped with it."""
        depth = 0
        cols = list(range(len(rest)))
        while rest:
            (head, _), residue = split_brace(rest, cols)
            if head == "{":
                depth += 1
            elif head == "}" and depth:
                depth -= 1
            if residue is None:
                break
            rest, cols = residue
        where = Pos(t.file, t.line, col)
        if depth:
            self.builder.skip_blocks(depth)
        else:
            self.builder.dropped_line(where)

    def _sequence(self, t: LineText) -> None:
        s = t.s

        def args(text: str) -> str:
            try:
                out, _, uses = self.defs.substitute(text, [0] * len(text))
            except ParamError as exc:
                raise SequenceError(str(exc))
            if any(use.rest is not None for use in uses):
                raise SequenceError("~SEQ argument uses a multi-line definition: '%s'" % s)
            return out

        try:
            seq = parse_seq(s, args) if s[1] == "S" else parse_lst(s)
        except SequenceError as exc:
            self.diags.error(Pos(t.file, t.line, t.cols[0]), str(exc), "bad-sequence")
            return
        self._push(SeqSource(seq, t))

    def _include(self, t: LineText, keyword: str, flags: int, pattern: str) -> None:
        pos = Pos(t.file, t.line, t.cols[0])
        if not pattern:
            self.diags.error(pos, "'%s' needs a file name or pattern" % keyword, "include-no-pattern")
            return
        check = self.include_check | flags
        found = inc.find(pattern, self._dir())

        def report(message: str, bit: int, code: str) -> None:
            if check & bit:
                self.diags.error(pos, message, code)
            else:
                self.diags.warning(pos, message, code)

        brace_bit = inc.CHECK_BRACE if found.braces else inc.CHECK_MATCH
        if found.missing and not found.paths:
            report("config files missing: nothing matches '%s'" % pattern, brace_bit, "include-missing")
            return
        if found.missing:
            report("some config files missing: '%s' (%s)" % (pattern, ", ".join(found.missing)),
                   inc.CHECK_BRACE, "include-missing")
            if check & inc.CHECK_BRACE:
                return
        if not found.paths:
            if check & inc.CHECK_WILDCARD:
                self.diags.error(pos, "no config files matched '%s'" % pattern, "include-no-match")
            return
        saved = self.include_check
        for path in reversed(found.paths):
            if not self._push(FileSource(path, flags, pos, saved)):
                return

    def _emit(self, t: LineText, s: str, cols: list[int]) -> None:
        if s == "{":
            self.builder.open(Pos(t.file, t.line, cols[0]))
            return
        if s == "}":
            self.builder.close(Pos(t.file, t.line, cols[0]))
            return
        found, bad = tokenize(s, cols)
        if bad is not None and not t.quote_reported:
            self.diags.error(Pos(t.file, t.line, cols[bad]),
                             "unmatched quote: no closing '\"'; the rest of the line is ignored",
                             "unmatched-quote")
        if not found:
            return
        name, line = t.file, t.line
        words = tuple(Word(text, Pos(name, line, col), quoted) for text, col, quoted in found)
        last = found[-1]
        if s.endswith("\\") and not last[2]:
            self.diags.warning(Pos(name, line, cols[-1]),
                               "a '\\' at the end of a line does not continue it (only $NAME= "
                               "definitions do); it stays part of the word '%s'" % last[0],
                               "backslash-not-continuation")
        self.builder.line(words, s)

    # -- global_defs keywords that change reading -------------------------------------

    def _global_keyword(self, words: tuple[Word, ...]) -> None:
        if words[0].text == "include_check":
            self.include_check, errors = inc.parse_include_check([w.text for w in words[1:]],
                                                                 self.include_check)
            for message in errors:
                self.diags.error(words[0].pos, message, "bad-include-check")
        elif words[0].text == "random_seed" and len(words) > 1 and words[1].text.isdigit():
            self.defs.seed(int(words[1].text))
