"""Parameter definitions and substitution (`$NAME=value`, `$NAME`, `${NAME}`).

keepalived's check_definition / find_definition / replace_param
(keepalived-vrrp.md §1.8):

- `$NAME=VALUE` is a whole line (after an optional `@id`); NAME is
  `[A-Za-z_][A-Za-z0-9_]*`, no blank before `=`, blanks after it skipped.
  A value ending in `\\` starts a multi-line definition.
- `$NAME` is replaced when followed by a blank, `,`, `)` or the end of the
  line; `${NAME}` anywhere.  Undefined names stay as they are.
- A multi-line value is used only where `$NAME` / `${NAME}` ends the line:
  its first line replaces the use, the others follow as lines of their own.
- Replacement is recursive: the scan goes on at the start of the inserted
  value; a value starting with `~` stops the scan (a sequence template).
- Built-ins: `${_PWD}`, `${_INSTANCE}`, `${_RANDOM [MIN [MAX]]}`, `${_HASH}`,
  `${_BANG}` (keepalived 2.2.7 has no `${_ENV}`).

Every inserted character takes the column of the `$` of its use, so a word
made by substitution points at the use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

_ALPHA = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_ALNUM = _ALPHA | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_END_OF_BARE_NAME = frozenset(" \t,)")

# Guards against definitions that never stop expanding ($A=$A, $A=x$A):
# keepalived loops forever or stops at its 1024-byte line buffer.
MAX_REPLACEMENTS = 1000
MAX_LINE_CHARS = 1 << 16


class ParamError(Exception):
    """A substitution that cannot finish; the message says why."""


@dataclass
class Definition:
    name: str
    lines: list[str]                   # one element unless multiline
    multiline: bool = False
    fn: Callable[[list[int] | None], str] | None = None
    max_params: int = 0

    @property
    def value(self) -> str:
        return self.lines[0] if self.lines else ""


@dataclass
class Use:
    """One replacement done by substitute()."""
    name: str
    col: int
    rest: list[str] | None = None     # a multi-line value: its further lines


class Definitions:
    """The parameter table of one read (global across included files)."""

    def __init__(self, config_id: str, cwd: Callable[[], str], seed: int | None = None) -> None:
        self.config_id = config_id
        self._cwd = cwd
        self._seed = seed
        self._rng = None                  # random.Random, made when ${_RANDOM} is first used
        self.table: dict[str, Definition] = {}
        self._builtin("_PWD", lambda params: self._cwd())
        self._builtin("_INSTANCE", lambda params: self.config_id)
        self._builtin("_RANDOM", self._random, max_params=2)
        self.table["_HASH"] = Definition("_HASH", ["#"])
        self.table["_BANG"] = Definition("_BANG", ["!"])

    def _builtin(self, name: str, fn, max_params: int = 0) -> None:
        self.table[name] = Definition(name, [""], fn=fn, max_params=max_params)

    def seed(self, value: int) -> None:
        """global_defs `random_seed N`: makes ${_RANDOM} repeatable."""
        self._seed = value
        self._rng = None

    @property
    def random(self):
        """The generator behind ${_RANDOM} (seeded by the time unless `seed`)."""
        if self._rng is None:
            import random
            import time
            self._rng = random.Random(time.time_ns() if self._seed is None else self._seed)
        return self._rng

    def _random(self, params: list[int] | None) -> str:
        low, high = 0, 32767
        if params:
            low = params[0]
            if len(params) > 1:
                high = params[1]
        if high < low:
            raise ParamError("${_RANDOM %d %d}: the minimum is above the maximum" % (low, high))
        return str(self.random.randint(low, high))

    # -- defining ------------------------------------------------------------

    def set(self, name: str, value: str) -> None:
        """A one-line definition (also how ~SEQ/~LST set their variables)."""
        self.table[name] = Definition(name, [value])

    def parse_definition(self, s: str) -> Definition | None:
        """If `s` is a `$NAME=VALUE` line, record it and return the
        Definition (multiline: more lines are to be appended); else None."""
        if len(s) < 3 or s[0] != "$" or s[1] not in _ALPHA:
            return None
        k = 2
        n = len(s)
        while k < n and s[k] != "=":
            if s[k] not in _ALNUM:
                return None
            k += 1
        if k >= n:
            return None
        name = s[1:k]
        v = k + 1
        while v < n and s[v] in " \t":
            v += 1
        value = s[v:]
        multiline = value.endswith("\\")
        if multiline:
            value = value[:-1].rstrip(" \t")
        d = Definition(name, [value] if value else [], multiline)
        if not multiline:
            d.lines = [value]
        self.table[name] = d
        return d

    @staticmethod
    def add_line(d: Definition, s: str) -> bool:
        """Append a line to a multiline definition being read.
        Returns False when this line was its last."""
        cont = s.endswith("\\")
        if cont:
            s = s[:-1].rstrip(" \t")
        if s:
            d.lines.append(s)
        return cont

    @staticmethod
    def finish(d: Definition) -> None:
        """A multiline definition ended (possibly by an empty line)."""
        if not d.lines:
            d.multiline = False
            d.lines = [""]

    # -- using -----------------------------------------------------------------

    def _match(self, s: str, i: int) -> tuple[Definition, int, list[int] | None] | None:
        """A use of a defined name starting with the '$' at s[i]:
        (definition, end index, numeric parameters) or None."""
        n = len(s)
        j = i + 1
        braces = s[j] == "{"
        if braces:
            j += 1
        if j >= n or s[j] not in _ALPHA:
            return None
        k = j + 1
        while k < n and s[k] in _ALNUM:
            k += 1
        name = s[j:k]
        params: list[int] | None = None
        if braces:
            first = last = -1
            while k < n and (s[k] == " " or s[k] in _DIGITS):
                if s[k] != " ":
                    if first < 0:
                        first = k
                    last = k
                k += 1
            if first >= 0 and last + 1 != k:
                return None                      # ends with a blank
            if k >= n or s[k] != "}":
                return None
            end = k + 1
            if first >= 0:
                params = [int(p) for p in s[first:last + 1].split()]
        else:
            if k < n and s[k] not in _END_OF_BARE_NAME:
                return None
            end = k
        d = self.table.get(name)
        if d is None:
            return None
        if d.multiline and end != n:
            return None
        if params is not None and not d.max_params:
            return None
        return d, end, params

    def substitute(self, s: str, cols: list[int]) -> tuple[str, list[int], list[Use]]:
        """Replace every use of a defined parameter (keepalived's
        replace_param).  Returns the new text and columns and the uses made
        (empty: nothing changed).  Raises ParamError if it does not end."""
        uses: list[Use] = []
        i = s.find("$")
        while 0 <= i < len(s) - 1:
            m = self._match(s, i)
            if m is None:
                i = s.find("$", i + 1)
                continue
            d, end, params = m
            if len(uses) >= MAX_REPLACEMENTS:
                raise ParamError("parameter substitution does not end (a definition that uses itself?)")
            use = Use(d.name, cols[i])
            if d.fn is not None:
                value = d.fn(params)
            else:
                value = d.value
            if d.multiline:
                use.rest = d.lines[1:]
            uses.append(use)
            s = s[:i] + value + s[end:]
            cols = cols[:i] + [use.col] * len(value) + cols[end:]
            if len(s) > MAX_LINE_CHARS:
                raise ParamError("parameter substitution makes the line longer than %d characters "
                                 "(a definition that uses itself?)" % MAX_LINE_CHARS)
            if value.lstrip(" \t").startswith("~"):
                break
            i = s.find("$", i)
        return s, cols, uses
