"""Steady state never enters Python: the settle and batch I/O code scores 0 in `cython -a`.

`cython -a` scores each line of ext/fastpath.pyx by the Python C-API it
generates.  The methods a steady-state packet or expiry runs through (receive
drain, parse + settle, timer arm, expiry, send queue, sendmmsg flush) must
score 0 on every line; `_expire` may touch Python only on its escalation line
(and its signature line, which carries the reference-count bookkeeping for
that branch).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[2] / "ext"
LINE = re.compile(r'<pre class="cython line score-(\d+)"[^>]*>(?:\+|&#xA0;)?'
                  r'<span class="">(\d+)</span>:')
METHOD = re.compile(r"^    cdef\b.*?(\w+)\(")
HOT = ("_rx", "_drain_sock", "_drain_all", "_arm", "_cancel", "_queue", "_flush_sock",
       "_flush_all", "_run_timers", "_fill_spec")
ESCALATING = {"_expire": ("self._call(",)}


def _methods(source_lines):
    """{name: (first line, last line)} of the cdef methods of the class (1-based)."""
    spans, current, last_code = {}, None, 0
    for number, line in enumerate(source_lines, 1):
        starts = line.startswith("    def ") or line.startswith("    cdef ") or \
            line.startswith("    @") or (line and not line[0].isspace() and not line.startswith("#"))
        if starts and current:
            spans[current[0]] = (current[1], last_code)
            current = None
        match = METHOD.match(line)
        if match:
            current = (match.group(1), number)
        if line.strip() and not line.lstrip().startswith("#"):
            last_code = number
    if current:
        spans[current[0]] = (current[1], last_code)
    return spans


@pytest.fixture(scope="module")
def annotation(tmp_path_factory):
    pytest.importorskip("Cython", reason="Cython (a build requirement) is not installed")
    out = tmp_path_factory.mktemp("annotate")
    (out / "fastpath.pyx").write_text((EXT / "fastpath.pyx").read_text())
    proc = subprocess.run([sys.executable, "-m", "cython", "-3", "-a", "-I", str(EXT),
                           "-X", "boundscheck=False", "-X", "wraparound=False",
                           "-X", "initializedcheck=False", "-X", "cdivision=True",
                           "fastpath.pyx", "-o", "fastpath.c"], cwd=out, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    html = (out / "fastpath.html").read_text()
    scores = {int(n): int(s) for s, n in LINE.findall(html)}
    assert scores, "no annotated lines found: has cython -a changed its HTML?"
    return scores


def test_steady_state_code_has_no_python_interaction(annotation):
    source = (EXT / "fastpath.pyx").read_text().splitlines()
    spans = _methods(source)
    missing = [name for name in HOT + tuple(ESCALATING) if name not in spans]
    assert not missing, "methods not found in ext/fastpath.pyx: %s" % missing
    yellow = []
    for name in HOT + tuple(ESCALATING):
        first, last = spans[name]
        allowed = ESCALATING.get(name, ())
        for n in range(first, last + 1):
            text = source[n - 1]
            if not annotation.get(n, 0):
                continue
            if allowed and (n == first or any(a in text for a in allowed)):
                continue
            yellow.append("%s line %d (score %d): %s" % (name, n, annotation[n], text.strip()))
    assert not yellow, "Python interaction in the steady-state path:\n" + "\n".join(yellow)


def test_the_escalation_is_scored(annotation):
    # the check above can fail: the line that calls into Python is yellow
    source = (EXT / "fastpath.pyx").read_text().splitlines()
    call = next(n for n, line in enumerate(source, 1) if "self._escalate(idx, what, now, arg)" in line)
    assert annotation[call] > 0
