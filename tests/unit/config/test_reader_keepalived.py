"""The reader against the real keepalived (`keepalived -t`), on language probes.

Every logical line of a probe file starts with a word keepalived does not
know, so `keepalived -t` reports `Unknown keyword 'WORD'` with the line
number for each logical line (and for each `}` it meets at the top level).
That sequence, taken from the parent process (the first block of the -t
output; the child processes re-read a copy of the configuration, see
docs/config-differences.md), must equal the reader's tree walked in
document order.  Brace, quote, ~SEQ/~LST and include problems are compared
by line.  tests/data/config/lang/probe_differences.conf shows the deliberate
differences; that test knows keepalived 2.2.7's answers and skips for other
versions.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fastvrrp.config.ast import Diagnostics
from fastvrrp.config.reader import read_config

pytestmark = pytest.mark.interop

KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
LANG = Path(__file__).resolve().parents[2] / "data" / "config" / "lang"
MESSAGE = re.compile(r"^\((?:(?P<file>.+?): )?Line (?P<line>\d+)\) (?P<msg>.*)$")


def keepalived_version():
    if not os.access(KEEPALIVED, os.X_OK):
        return None
    out = subprocess.run([KEEPALIVED, "-v"], capture_output=True, text=True, timeout=30)
    m = re.search(r"Keepalived v(\d+)\.(\d+)\.(\d+)", out.stdout + out.stderr)
    return tuple(int(x) for x in m.groups()) if m else None


VERSION = keepalived_version()
needs_keepalived = pytest.mark.skipif(VERSION is None, reason="keepalived is not installed")


def run_keepalived(path, config_id, tmp_path):
    """`keepalived -t` on path; the parent process's messages as (file, line, message)."""
    cmd = [KEEPALIVED, "-t", "-f", str(path), "-l", "-i", config_id,
           "-p", str(tmp_path / "k.pid"), "-r", str(tmp_path / "v.pid"),
           "-c", str(tmp_path / "c.pid"), "-b", str(tmp_path / "b.pid")]
    out = subprocess.run(cmd, capture_output=True, timeout=60, cwd=str(path.parent))
    messages = []
    for raw in out.stderr.decode("utf-8", "surrogateescape").splitlines():
        m = MESSAGE.match(raw)
        if not m:
            continue
        file = m.group("file")
        if file is not None and os.path.basename(file) == path.name:
            break                     # a child process starts over with the main file
        messages.append((os.path.basename(file) if file else path.name, int(m.group("line")),
                         m.group("msg")))
    assert messages and messages[0][2] == "Unknown keyword 'P0'", out.stderr[:2000]
    return messages


def keepalived_lines(messages):
    """Unknown-keyword sequence, and the other problems by kind and line."""
    sequence, problems = [], set()
    after_extra = False
    for file, line, msg in messages:
        m = re.match(r"Unknown keyword '(.*)'$", msg)
        if m:
            if not (m.group(1) == "}" and after_extra):
                sequence.append((file, line, m.group(1)))
        elif msg.startswith("Extra '}'"):
            problems.add(("brace", file, line))
        elif "quote" in msg:
            problems.add(("quote", file, line))
        elif "~SEQ" in msg or "~LST" in msg:
            problems.add(("sequence", file, line))
        elif "config files missing" in msg.lower():
            problems.add(("include", file, line))
        after_extra = msg.startswith("Extra '}'")
    return sequence, problems


KINDS = {"extra-close-brace": "brace", "unterminated-quote": "quote", "unmatched-quote": "quote",
         "bad-sequence": "sequence", "include-missing": "include"}


def our_lines(path, config_id):
    diags = Diagnostics()
    nodes = read_config(str(path), diags, config_id=config_id)
    sequence = []

    def walk(level):
        for n in level:
            sequence.append((os.path.basename(n.pos.file), n.pos.line, n.keyword))
            if n.children is not None:
                walk(n.children)
                if n.close is not None:
                    sequence.append((os.path.basename(n.close.file), n.close.line, "}"))

    walk(nodes)
    problems = {(KINDS[d.code], os.path.basename(d.pos.file), d.pos.line) for d in diags if d.code in KINDS}
    return sequence, problems, diags


@needs_keepalived
@pytest.mark.parametrize("name, config_id", [
    ("probe_basic.conf", "main"),
    ("probe_params.conf", "main"),
    ("probe_conditional.conf", "main"),
    ("probe_conditional.conf", "backup"),
    ("probe_conditional.conf", "other"),
    ("probe_crlf.conf", "main"),
    ("probe_utf8.conf", "main"),
    ("include/main.conf", "main"),
])
def test_reader_reads_probes_as_keepalived_does(name, config_id, tmp_path):
    path = LANG / name
    k_sequence, k_problems = keepalived_lines(run_keepalived(path, config_id, tmp_path))
    sequence, problems, _ = our_lines(path, config_id)
    assert sequence == k_sequence
    assert problems == k_problems


@needs_keepalived
@pytest.mark.skipif(VERSION != (2, 2, 7), reason="checks keepalived 2.2.7's known answers")
def test_deliberate_differences_from_keepalived_2_2_7(tmp_path):
    path = LANG / "probe_differences.conf"
    k_sequence, k_problems = keepalived_lines(run_keepalived(path, "main", tmp_path))
    sequence, problems, diags = our_lines(path, "main")
    name = path.name
    assert sequence == [(name, 1, "P0"), (name, 6, "D3"), (name, 9, "D4_1"), (name, 9, "D4_2"),
                        (name, 10, "D5"), (name, 11, "D6"), (name, 12, "D7"), (name, 13, "D8"),
                        (name, 14, "D9"), (name, 15, "}"), (name, 16, "D10"), (name, 17, "}")]
    assert problems == set() and not diags
    # keepalived: the dropped '@backup D1 {' leaves its body and an extra '}' behind
    assert (name, 3, "D2") in k_sequence and ("brace", name, 4) in k_problems
    # keepalived: '$IF D3' with $IF=@main is corrupted (stale line length)
    assert [kw for f, line, kw in k_sequence if line == 6] != ["D3"]
    # keepalived: a ~SEQ variable named like a multi-line definition reads past its value.
    # What it reads is whatever memory follows (nothing in about one run in twenty), so
    # only the words both readers agree on are checked here.
    k_line9 = [kw for f, line, kw in k_sequence if line == 9]
    assert k_line9[0] == "D4_1" and "D4_2" in k_line9
    # keepalived 2.2.7: a '\' at the end of a comment continues the line
    assert (name, 10, "D5\\") in k_sequence
    # the rest is the same
    assert k_sequence[-7:] == sequence[-7:]
