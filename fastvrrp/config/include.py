"""`include` lines: recognising them and finding the files (keepalived-vrrp.md §1.6).

    include PATTERN       problems are logged, never errors (keepalived: -t rc 0)
    includer PATTERN      + every match must be readable
    includem PATTERN      + a pattern without wildcards must match
    includew PATTERN      + a pattern with wildcards must match too
    includeb PATTERN      + every {a,b} alternative must match
    includea PATTERN      all of the above

PATTERN is the rest of the line.  It is a glob (`*`, `?`, `[...]`, csh
`{a,b}` braces, `\\` escapes) relative to the directory of the file that
holds the include line; matches are read in glob order (each brace
alternative in turn, sorted within it).  Only regular, non-executable files
are read.  `global_defs { include_check ... }` raises the checks for the
files read after it, until the end of the file it is in.
"""

from __future__ import annotations

import glob
import os
import stat
from dataclasses import dataclass, field

# keepalived's include_t bits
CHECK_READ = 1        # R: a match must be a readable regular file
CHECK_MATCH = 2       # M: a pattern must match something
CHECK_WILDCARD = 4    # W: ... even when it has wildcards
CHECK_BRACE = 8       # B: every brace alternative must match
CHECK_ALL = CHECK_READ | CHECK_MATCH | CHECK_WILDCARD | CHECK_BRACE

INCLUDE_KEYWORDS = {
    "include": 0,
    "includer": CHECK_READ,
    "includem": CHECK_READ | CHECK_MATCH,
    "includew": CHECK_READ | CHECK_MATCH | CHECK_WILDCARD,
    "includeb": CHECK_READ | CHECK_BRACE,
    "includea": CHECK_ALL,
}

_CHECK_NAMES = {"read": CHECK_READ, "match": CHECK_MATCH,
                "wildcard_match": CHECK_WILDCARD, "brace_match": CHECK_BRACE}

_SPACE = " \t\n\v\f\r"
_MAGIC = "*?["


def parse_include(s: str) -> tuple[str, int, str] | None:
    """If the line is an include line: (keyword, check bits, pattern)."""
    if not s.startswith("include"):
        return None
    if len(s) > 7 and s[7] in _SPACE:
        keyword = "include"
        rest = s[8:]
    elif len(s) > 8 and s[7] in "rmwba" and s[8] in _SPACE:
        keyword = s[:8]
        rest = s[9:]
    elif s in INCLUDE_KEYWORDS:
        return s, INCLUDE_KEYWORDS[s], ""
    else:
        return None
    return keyword, INCLUDE_KEYWORDS[keyword], rest.lstrip(" \t")


def parse_include_check(args: list[str], current: int) -> tuple[int, list[str]]:
    """global_defs `include_check [[+|-]read|match|wildcard_match|brace_match ...]`.
    Returns (new check bits, error messages)."""
    if not args:
        return CHECK_ALL, []
    errors = []
    value = current
    for i, word in enumerate(args):
        op = word[0] if word[:1] in ("+", "-") else ""
        name = word[1:] if op else word
        if not op:
            if i:
                errors.append("include_check '%s' given twice - ignoring" % word)
                continue
            value = 0
        bit = _CHECK_NAMES.get(name)
        if bit is None:
            errors.append("unknown include_check type '%s' (expected read, match, wildcard_match "
                          "or brace_match) - ignoring" % name)
            continue
        if op == "+":
            value |= bit
        elif op == "-":
            value &= ~bit
        else:
            value = CHECK_READ | bit
    return value, errors


def expand_braces(pattern: str) -> list[str]:
    """csh-style {a,b} alternatives, nested, left to right (GLOB_BRACE).
    A '{' without a matching '}' is an ordinary character."""
    n = len(pattern)
    i = 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth = 0
            j = i
            commas = []
            while j < n:
                d = pattern[j]
                if d == "\\":
                    j += 2
                    continue
                if d == "{":
                    depth += 1
                elif d == "}":
                    depth -= 1
                    if depth == 0:
                        break
                elif d == "," and depth == 1:
                    commas.append(j)
                j += 1
            if j >= n:
                return [pattern]           # unbalanced: literal
            bounds = [i] + commas + [j]
            prefix, suffix = pattern[:i], pattern[j + 1:]
            out: list[str] = []
            for a, b in zip(bounds, bounds[1:]):
                out.extend(expand_braces(prefix + pattern[a + 1:b] + suffix))
            return out
        i += 1
    return [pattern]


def _has_magic(p: str) -> bool:
    i = 0
    while i < len(p):
        if p[i] == "\\":
            i += 2
            continue
        if p[i] in _MAGIC:
            return True
        i += 1
    return False


def _unescape(p: str, for_glob: bool) -> str:
    """glibc glob syntax -> Python glob syntax (for_glob) or plain text:
    backslash escapes, and `[^...]` (glibc) is `[!...]` (Python)."""
    if "\\" not in p and "[^" not in p:
        return p
    out = []
    i = 0
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p):
            i += 1
            c = p[i]
            out.append("[%s]" % c if for_glob and c in _MAGIC else c)
        elif for_glob and c == "[" and p[i + 1:i + 2] == "^":
            out.append("[!")
            i += 1
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _literal_prefix_dir(p: str) -> str:
    """The directory part of a pattern before its first wildcard component."""
    parts = p.split("/")
    keep = []
    for part in parts[:-1]:
        if _has_magic(part):
            break
        keep.append(part)
    return _unescape("/".join(keep), False) or ("/" if p.startswith("/") else ".")


@dataclass
class Matches:
    paths: list[str] = field(default_factory=list)   # display paths, in reading order
    missing: list[str] = field(default_factory=list)  # alternatives naming nothing that exists
    unmatched: list[str] = field(default_factory=list)  # wildcard alternatives matching nothing
    braces: bool = False                               # the pattern had {a,b} alternatives


def find(pattern: str, base_dir: str) -> Matches:
    """Expand an include pattern relative to base_dir (a display path:
    '' means the current directory).  Paths come back as base_dir joined
    with what matched, normalised."""
    alternatives = expand_braces(pattern)
    result = Matches(braces=len(alternatives) > 1 or alternatives[0] != pattern)
    root = base_dir or "."
    for alt in alternatives:
        if _has_magic(alt):
            found = sorted(glob.glob(_unescape(alt, True), root_dir=root))
            if found:
                result.paths.extend(os.path.normpath(os.path.join(base_dir, f)) for f in found)
            elif not os.path.isdir(os.path.join(root, _literal_prefix_dir(alt))):
                result.missing.append(alt)
            else:
                result.unmatched.append(alt)
        else:
            plain = _unescape(alt, False)
            if os.path.lexists(os.path.join(root, plain)):
                result.paths.append(os.path.normpath(os.path.join(base_dir, plain)))
            else:
                result.missing.append(alt)
    return result


def check_file(path: str) -> tuple[os.stat_result | None, str | None]:
    """keepalived reads only regular, non-executable files.
    Returns (stat, None) or (None, why not)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return None, "'%s' cannot be read: %s" % (path, exc.strerror or exc)
    if stat.S_ISDIR(st.st_mode):
        return None, "'%s' is a directory - skipping" % path
    if not stat.S_ISREG(st.st_mode) or st.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        return None, "'%s' is not a regular non-executable file - skipping" % path
    return st, None
