"""The compiled hot path makes no Python call and no Python object.

`cython -a` scores each source line by the Python C-API it generates (the
"yellow" of the annotated HTML).  Every C-level function of ext/packet.pyx
(`noexcept nogil`: parse, batch parse, checksums, builders) must score 0 on
every line; `nogil` already forbids Python objects at compile time, and this
keeps it visible should a helper lose its `nogil`.
"""

import re

import pytest

from annotation import annotate, definitions, source_lines, top_level

C_FUNCTION = re.compile(r"^cdef\b.*?(\w+)\(")
HOT = ("vrrp_parse_ipv4", "_parse_ipv4", "vrrp_parse_ipv6", "_parse_vrrp", "_verify_checksum",
       "vrrp_parse_batch_ipv4", "vrrp_check_instance", "vrrp_sum16", "vrrp_fold",
       "vrrp_checksum", "vrrp_checksum_update", "_pseudo4", "_pseudo6", "vrrp_build",
       "vrrp_build_length", "_spec_ok", "_ipv4_header", "vrrp_build_garp", "vrrp_build_na")


@pytest.fixture(scope="module")
def annotation(tmp_path_factory):
    pytest.importorskip("Cython", reason="Cython (a build requirement) is not installed")
    return annotate(tmp_path_factory.mktemp("annotate"), "packet.pyx")


def test_hot_functions_have_no_python_interaction(annotation):
    source = source_lines("packet.pyx")
    spans = definitions(source, C_FUNCTION, top_level)
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
    source = source_lines("packet.pyx")
    wrapper = next(n for n, line in enumerate(source, 1) if line.startswith("def parse_ipv4("))
    assert annotation[wrapper] > 0
