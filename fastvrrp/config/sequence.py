"""`~SEQ`, `~SEQx` and `~LST` lines (keepalived-vrrp.md §1.9).

    ~SEQ(var, end) TEMPLATE            start 1 (or -1), step +-1
    ~SEQ(var, start, end) TEMPLATE     step +-1 towards end
    ~SEQ(var, start, step, end) TEMPLATE
    ~SEQx(...)                         values in lower-case hex, no 0x
    ~LST(var, v1, v2, ...) TEMPLATE
    ~LST({a,b}, {1,x}, {2,y}) TEMPLATE several variables at once

The template (the rest of the line) is emitted once per value, with the
variable(s) defined as ordinary parameters; the end value is inclusive.
Numbers are read like C's strtol(..., 0): `0x` hex, a leading `0` octal.
~SEQ arguments may use (one-line) parameters; ~LST values cannot contain
blanks, `,`, `{`, `}` or `)`, and missing values in a set are empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

# A ~SEQ that would emit more than this many lines is refused: keepalived
# would happily count to LONG_MAX.
MAX_VALUES = 1_000_000


class SequenceError(Exception):
    """A malformed ~SEQ/~LST; the message says what is wrong."""


@dataclass
class Sequence:
    """What a ~SEQ/~LST line asks for: the variables, the value sets, and
    where the template starts in the line."""
    names: list[str]
    values: Iterator[list[str]]
    count: int
    template_start: int


_BLANKS = " \t"


def _skip_blanks(s: str, i: int) -> int:
    n = len(s)
    while i < n and s[i] in _BLANKS:
        i += 1
    return i


def _strtol(s: str, i: int) -> tuple[int, int]:
    """C strtol(s + i, &end, 0): (value, end index); no digits -> (0, i)."""
    n = len(s)
    j = i
    while j < n and s[j] in " \t\n\v\f\r":
        j += 1
    sign = 1
    if j < n and s[j] in "+-":
        sign = -1 if s[j] == "-" else 1
        j += 1
    if j + 1 < n and s[j] == "0" and s[j + 1] in "xX" and j + 2 < n and s[j + 2] in "0123456789abcdefABCDEF":
        base, digits, j = 16, "0123456789abcdefABCDEF", j + 2
    elif j < n and s[j] == "0":
        base, digits = 8, "01234567"
    else:
        base, digits = 10, "0123456789"
    k = j
    while k < n and s[k] in digits:
        k += 1
    if k == j:
        return 0, i
    return sign * int(s[j:k], base), k


def parse_seq(s: str, substitute: Callable[[str], str]) -> Sequence:
    """Parse a line starting with `~SEQ`.  `substitute` expands parameters
    in the argument text (it raises SequenceError for a multi-line one)."""
    i = 4
    hexa = i < len(s) and s[i] == "x"
    if hexa:
        i += 1
    what = "~SEQx" if hexa else "~SEQ"
    i = _skip_blanks(s, i)
    if i >= len(s) or s[i] != "(":
        raise SequenceError("%s must be followed by '(': '%s'" % (what, s))
    i = _skip_blanks(s, i + 1)
    var_start = i
    while i < len(s) and s[i] not in " \t,)":
        i += 1
    var = s[var_start:i]
    i = _skip_blanks(s, i)
    if not var or i >= len(s) or s[i] != ",":
        raise SequenceError("%s needs a variable name and at least an end value: '%s'" % (what, s))
    close = s.find(")", i)
    if close < 0:
        raise SequenceError("%s has no closing ')': '%s'" % (what, s))
    args = substitute(s[i + 1:close + 1])
    nums: list[int] = []
    p = 0
    while True:
        value, end = _strtol(args, p)
        nums.append(value)
        p = _skip_blanks(args, end)
        if p < len(args) and args[p] == ")":
            break
        if p >= len(args) or args[p] != "," or len(nums) == 3:
            raise SequenceError("invalid %s arguments '%s': expected up to three numbers "
                                "separated by ',' and a closing ')'" % (what, s[:close + 1]))
        p += 1
    if len(nums) == 1:
        end_v = nums[0]
        start = -1 if end_v < 0 else 1
        step = -1 if end_v < 1 else 1
    elif len(nums) == 2:
        start, end_v = nums
        step = 1 if start <= end_v else -1
    else:
        start, step, end_v = nums
        if step == 0 or (start < end_v and step < 0) or (start > end_v and step > 0):
            raise SequenceError("invalid %s values '%s': the step cannot reach the end value"
                                % (what, s[:close + 1]))
    if hexa and (start < 0 or end_v < 0):
        raise SequenceError("~SEQx is only valid for non-negative numbers: '%s'" % s[:close + 1])
    count = (end_v - start) // step + 1
    if count > MAX_VALUES:
        raise SequenceError("%s would produce %d lines (at most %d): '%s'"
                            % (what, count, MAX_VALUES, s[:close + 1]))
    fmt = "%x" if hexa else "%d"
    values = ([fmt % v] for v in range(start, start + count * step, step))
    return Sequence([var], values, count, _skip_blanks(s, close + 1))


def _lst_item(s: str, i: int, stops: str) -> tuple[str, int]:
    j = i
    while j < len(s) and s[j] not in stops:
        j += 1
    return s[i:j], _skip_blanks(s, j)


def parse_lst(s: str) -> Sequence:
    """Parse a line starting with `~LST`."""
    bad = SequenceError("invalid ~LST specification '%s'" % s)
    n = len(s)
    i = _skip_blanks(s, 4)
    if i >= n or s[i] != "(":
        raise bad
    i = _skip_blanks(s, i + 1)
    names: list[str] = []
    if i < n and s[i] == "{":
        i = _skip_blanks(s, i + 1)
        while True:
            name, i = _lst_item(s, i, " \t,}")
            names.append(name)
            if i < n and s[i] == "}":
                i = _skip_blanks(s, i + 1)
                break
            if i >= n or s[i] != ",":
                raise bad
            i = _skip_blanks(s, i + 1)
    else:
        name, i = _lst_item(s, i, " \t,}")
        names.append(name)
    if i >= n or s[i] != "," or not all(names):
        raise bad
    i = _skip_blanks(s, i + 1)
    sets: list[list[str]] = []
    while True:
        braced = i < n and s[i] == "{"
        if braced:
            i = _skip_blanks(s, i + 1)
        values: list[str] = []
        while True:
            value, i = _lst_item(s, i, " \t,})")
            values.append(value)
            if i < n and ((braced and s[i] == "}") or (not braced and s[i] in ",)")):
                break
            if i >= n or s[i] != ",":
                raise bad
            i = _skip_blanks(s, i + 1)
            if len(values) >= len(names):
                raise SequenceError("~LST has more values in a set than variables: '%s'" % s)
        values.extend([""] * (len(names) - len(values)))
        sets.append(values)
        if braced:
            i = _skip_blanks(s, i + 1)
        if i < n and s[i] == ")":
            break
        if i >= n or s[i] != ",":
            raise bad
        i = _skip_blanks(s, i + 1)
    return Sequence(names, iter(sets), len(sets), _skip_blanks(s, i + 1))
