"""Hypothesis: damaged configurations never raise, only give diagnostics; and
the fast path agrees with the general path on whatever it is given."""

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastvrrp.config import include as inc
from fastvrrp.config.ast import Diagnostic, Diagnostics, Node, Pos, Word
from fastvrrp.config.preprocess import Preprocessor
from fastvrrp.config.reader import read_config, read_text

from paths import CORPUS, SEED
SOURCES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "INDEX.md") + \
    [SEED / "keepalived.conf"]
TEXTS = [p.read_bytes() for p in SOURCES if p.is_file()]

PIECES = [b"{", b"}", b'"', b"\\", b"$", b"~", b"@", b"#", b"!", b"\n", b"\r", b"\x00", b"\t", b" ",
          b"\xff", b"\xe4\xb8\xad", b"\xef\xbb\xbf", b"${A}", b"$A=x \\\n", b"$A", b"@high ", b"@^high ",
          b"~SEQ(i,3) ", b"~LST(v,a,b) ", b"~SEQx(h,1,2) ", b"${_RANDOM 1 9}", b"${_HASH}",
          b"include inc.conf\n", b"include {a,b}.conf\n", b"x {\n", b"}\n", b"$M=\\\n"]


@pytest.fixture(scope="module")
def sandbox():
    """Includes may only find files in a private directory."""
    with tempfile.TemporaryDirectory(prefix="fastvrrp-fuzz-") as d:
        Path(d, "inc.conf").write_text("included {\n  x\n}\n")
        Path(d, "a.conf").write_text("a $A\n")
        yield d


@pytest.fixture(autouse=True)
def confined_includes(sandbox, monkeypatch):
    real_find = inc.find

    def find(pattern, base_dir):
        found = real_find(pattern, base_dir)
        found.paths = [p for p in found.paths if os.path.abspath(p).startswith(sandbox + os.sep)]
        return found

    monkeypatch.setattr(inc, "find", find)


mutation = st.tuples(st.integers(min_value=0), st.sampled_from(["insert", "delete", "replace"]),
                     st.one_of(st.sampled_from(PIECES), st.binary(min_size=1, max_size=3)))


def mutate(data, ops):
    buf = bytearray(data)
    for where, op, piece in ops:
        i = where % (len(buf) + 1)
        if op == "insert":
            buf[i:i] = piece
        elif op == "delete":
            del buf[i:i + len(piece)]
        else:
            buf[i:i + len(piece)] = piece
    return bytes(buf)


def check_tree(nodes, files):
    for n in nodes:
        assert type(n) is Node and n.words and all(type(w) is Word for w in n.words)
        for w in n.words:
            assert type(w.pos) is Pos and w.pos.file in files and w.pos.line >= 1 and w.pos.col >= 1
        if n.children is not None:
            check_tree(n.children, files)


def deep(nodes):
    return [(n.words, n.text, n.close, None if n.children is None else deep(n.children)) for n in nodes]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(range(len(TEXTS))), ops=st.lists(mutation, min_size=1, max_size=8),
       config_id=st.sampled_from(["high", "low", None]))
def test_mutated_corpus_files_give_only_diagnostics(sandbox, source, ops, config_id):
    data = mutate(TEXTS[source], ops)
    path = os.path.join(sandbox, "main.conf")
    with open(path, "wb") as f:
        f.write(data)
    diags = Diagnostics()
    nodes = read_config(path, diags, config_id=config_id)
    assert all(type(d) is Diagnostic and d.code and d.code != "internal-error" for d in diags)
    assert all(d.severity in ("error", "warning") for d in diags)
    check_tree(nodes, {path} | {os.path.join(sandbox, n) for n in ("inc.conf", "a.conf", "b.conf")})
    # the same text through the general path only
    results = []
    for fast in (True, False):
        d2 = Diagnostics()
        pp = Preprocessor(d2, "high", fast_path=fast)
        pp.defs.seed(1)
        pp.read_files([path])
        results.append((deep(pp.finish()), [str(x) for x in d2]))
    assert results[0] == results[1]


LINE_PIECES = ["a", "b", "vrrp_instance", "{", "}", " ", "\t", "#c", "!c", '"q r"', '"', "\\", "\\#",
               "$A", "${A}", "$A=1", "$B=${A}x", "@high ", "@^high ", "~SEQ(i,2) ", "~x", "10.0.0.1/24",
               "include", ";", "\u4e2d", "\u3000"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(LINE_PIECES), max_size=8).map("".join), max_size=12))
def test_fast_and_general_paths_agree_on_random_lines(lines):
    text = "\n".join(lines) + "\n"
    results = []
    for fast in (True, False):
        diags = Diagnostics()
        pp = Preprocessor(diags, "high", fast_path=fast)
        pp.read_text(text, "r.conf", "/nonexistent-dir")
        results.append((deep(pp.finish()), [str(d) for d in diags]))
    assert results[0] == results[1]
    diags = Diagnostics()
    check_tree(read_text(text, diags, "r.conf", config_id="high", base_dir="/nonexistent-dir"), {"r.conf"})
    assert all(d.code != "internal-error" for d in diags)
