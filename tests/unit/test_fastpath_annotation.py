"""Steady state never enters Python: the settle and batch I/O code scores 0 in `cython -a`.

`cython -a` scores each line of ext/fastpath.pyx by the Python C-API it
generates.  The methods a steady-state packet or expiry runs through (receive
drain, parse + settle, timer arm, expiry, send queue, sendmmsg flush) must
score 0 on every line; `_expire` may touch Python only on its escalation line
(and its signature line, which carries the reference-count bookkeeping for
that branch).
"""

import re

import pytest

from annotation import annotate, definitions, source_lines, top_level

METHOD = re.compile(r"^    cdef\b.*?(\w+)\(")
HOT = ("_rx", "_drain_sock", "_drain_all", "_arm", "_cancel", "_queue", "_flush_sock",
       "_flush_all", "_run_timers", "_fill_spec")
ESCALATING = {"_expire": ("self._call(",)}


def _method_boundary(line):
    """Where a cdef method ends: the next method, decorator or module-level line."""
    return line.startswith(("    def ", "    cdef ", "    @")) or top_level(line)


@pytest.fixture(scope="module")
def annotation(tmp_path_factory):
    pytest.importorskip("Cython", reason="Cython (a build requirement) is not installed")
    return annotate(tmp_path_factory.mktemp("annotate"), "fastpath.pyx",
                    ("boundscheck=False", "wraparound=False", "initializedcheck=False",
                     "cdivision=True"))


def test_steady_state_code_has_no_python_interaction(annotation):
    source = source_lines("fastpath.pyx")
    spans = definitions(source, METHOD, _method_boundary)
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
    source = source_lines("fastpath.pyx")
    call = next(n for n, line in enumerate(source, 1) if "self._escalate(idx, what, now, arg)" in line)
    assert annotation[call] > 0
