"""The compiled hot path makes no Python call and no Python object.

`cython -a` scores each source line by the Python C-API it generates (the
"yellow" of the annotated HTML).  Every C-level function of ext/packet.pyx
(`noexcept nogil`: parse, batch parse, checksums, builders) must score 0 on
every line; `nogil` already forbids Python objects at compile time, and this
keeps it visible should a helper lose its `nogil`.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[2] / "ext"
LINE = re.compile(r'<pre class="cython line score-(\d+)"[^>]*>(?:\+|&#xA0;)?'
                  r'<span class="">(\d+)</span>:')
C_FUNCTION = re.compile(r"^cdef\b.*?(\w+)\(")
HOT = ("vrrp_parse_ipv4", "_parse_ipv4", "vrrp_parse_ipv6", "_parse_vrrp", "_verify_checksum",
       "vrrp_parse_batch_ipv4", "vrrp_check_instance", "vrrp_sum16", "vrrp_fold",
       "vrrp_checksum", "vrrp_checksum_update", "_pseudo4", "_pseudo6", "vrrp_build",
       "vrrp_build_length", "_spec_ok", "_ipv4_header", "vrrp_build_garp", "vrrp_build_na")


def _c_functions(source_lines):
    """{name: (first line, last line)} of module-level cdef functions (1-based)."""
    spans, current = {}, None
    for number, line in enumerate(source_lines, 1):
        if line and not line[0].isspace() and not line.startswith("#"):
            if current:
                spans[current[0]] = (current[1], last_code)
                current = None
            match = C_FUNCTION.match(line)
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
    (out / "packet.pyx").write_text((EXT / "packet.pyx").read_text())
    proc = subprocess.run([sys.executable, "-m", "cython", "-3", "-a", "-I", str(EXT),
                           "packet.pyx", "-o", "packet.c"], cwd=out, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    html = (out / "packet.html").read_text()
    scores = {int(n): int(s) for s, n in LINE.findall(html)}
    assert scores, "no annotated lines found: has cython -a changed its HTML?"
    return scores


def test_hot_functions_have_no_python_interaction(annotation):
    source = (EXT / "packet.pyx").read_text().splitlines()
    spans = _c_functions(source)
    missing = [name for name in HOT if name not in spans]
    assert not missing, "hot functions not found in ext/packet.pyx: %s" % missing
    yellow = []
    for name in HOT:
        first, last = spans[name]
        end = next(n for n in range(first, last + 1) if source[n - 1].rstrip().endswith(":"))
        assert "noexcept nogil" in " ".join(source[first - 1:end]), name
        yellow += ["%s line %d (score %d): %s" % (name, n, annotation.get(n, 0),
                                                  source[n - 1].strip())
                   for n in range(first, last + 1) if annotation.get(n, 0)]
    assert not yellow, "Python interaction in the hot path:\n" + "\n".join(yellow)


def test_the_python_wrappers_are_scored(annotation):
    # the check above can fail: the Python-facing wrapper lines are yellow
    source = (EXT / "packet.pyx").read_text().splitlines()
    wrapper = next(n for n, line in enumerate(source, 1) if line.startswith("def parse_ipv4("))
    assert annotation[wrapper] > 0
