"""The config package's fast paths give what the plain paths give.

- special_lines (the plain-line fast path's pre-pass) marks exactly the lines
  that are not plain, checked line by line against PLAIN_BYTES;
- a plain Node's lazily made Words, position and text are the general path's;
- streaming (read_config on_node -> Builder.feed, as `fastvrrp check` runs)
  builds the same model with the same diagnostics as read-then-build;
- remembered values never hide a diagnostic (a repeated bad value is
  reported every time), and hints that need the rest of the file (a
  track_script defined later, a sync-group member written outside `group`)
  are there in both modes.
"""

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastvrrp.config import loads
from fastvrrp.config.ast import Diagnostics, Node, Pos, Word
from fastvrrp.config.build import Builder, build
from fastvrrp.config.fastnodes import plain_node
from fastvrrp.config.lexer import PLAIN_BYTES, special_lines
from fastvrrp.config.reader import read_config, read_text

from paths import CORPUS, DATA, SEED

FILES = sorted(str(p) for p in list(CORPUS.rglob("*")) + list((DATA / "config").rglob("*.conf"))
               if p.is_file() and p.name != "INDEX.md") + [str(SEED / "keepalived.conf")]


def _reference_special(data: bytes) -> set:
    out = set()
    for i, line in enumerate(data.split(b"\n")):
        body = line.rstrip(b"\r")
        if b"include" in line or any(b not in PLAIN_BYTES for b in body):
            out.add(i)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([b"a b", b"  x {", b"}", b'"q"', b"# c", b"!", b"$A",
                                           b"@id x", b"\\", b"~SEQ", b"include f", b"\r", b"\t",
                                           b"\xff", b"\xe4\xb8\xad", b"\x00", b"\x0b", b"\x7f",
                                           b"\r\r", b"a\rb"]),
                          st.binary(max_size=6)), max_size=30))
def test_special_lines_marks_exactly_the_lines_that_are_not_plain(parts):
    data = b"".join(parts)
    assert special_lines(data) == _reference_special(data)


def test_special_lines_with_many_kinds_of_byte_uses_one_pass_and_agrees():
    data = bytes(range(256)) + b"\nplain line\n" + "中文 é".encode() + b"\nok {\n}\r\n"
    # (byte 10 in range(256) ends line 0: bytes 11..255 are line 1)
    assert special_lines(data) == _reference_special(data) == {0, 1, 3}


WORD = st.text(st.sampled_from("abcXYZ019_./:-%&'()*+,;<=>?[]^`|"), min_size=1, max_size=6)


@given(st.lists(WORD, min_size=1, max_size=5), st.lists(st.sampled_from([" ", "\t", "  ", " \t"]),
                                                          min_size=6, max_size=6), st.booleans())
def test_plain_node_words_pos_and_text_are_the_general_paths(words, blanks, brace):
    raw = blanks[0] + "".join(w + b for w, b in zip(words, blanks[1:])) + ("{" if brace else "")
    node = plain_node(tuple(words), raw, "f.conf", 7)
    col, expected = 0, []
    for w in words:
        col = raw.index(w, col)
        expected.append(Word(w, Pos("f.conf", 7, col + 1)))
        col += len(w)
    assert node.words == tuple(expected)
    assert node.pos == expected[0].pos and node.keyword == words[0]
    assert node.text == raw.split("{")[0].strip(" \t")
    assert node == Node(tuple(expected)) and hash(node) == hash(Node(tuple(expected)))


def _streamed(path, config_id):
    diags = Diagnostics()
    builder = Builder(diags)
    assert read_config(path, diags, config_id, on_node=builder.feed) == ()
    return builder.finish(), diags


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_streaming_builds_what_read_then_build_builds(path):
    for config_id in ("high", "low"):
        diags = Diagnostics()
        config = build(read_config(path, diags, config_id), diags)
        streamed, sdiags = _streamed(path, config_id)
        assert streamed == config
        key = lambda d: (d.pos.file, d.pos.line, d.pos.col, d.severity, d.message, d.code)
        assert sorted(map(key, sdiags)) == sorted(map(key, diags))


INSTANCE = """vrrp_instance %s {
    interface eth0
    virtual_router_id %d
    advert_int 1.0000001
    track_script {
        chk_later
    }
    virtual_ipaddress {
        10.0.0.%d
    }
}
"""
LATER = ("vrrp_sync_group G {\n    group {\n        A\n        B\n    }\n    C\n}\n"
         + INSTANCE % ("A", 1, 1) + INSTANCE % ("B", 2, 2) + INSTANCE % ("C", 3, 3)
         + 'vrrp_script chk_later {\n    script "/bin/true"\n}\n')


@pytest.mark.parametrize("streaming", [False, True])
def test_repeated_values_and_hints_that_need_the_whole_file(tmp_path, streaming):
    path = tmp_path / "k.conf"
    path.write_text(LATER)
    if streaming:
        _, diags = _streamed(str(path), "x")
    else:
        _, diags = loads(LATER, "x", filename=str(path))
    messages = [(d.pos.line, d.message) for d in diags]
    # the same over-precise advert_int in three instances: three errors
    assert [line for line, m in messages if "more than 6 decimal places" in m] == [11, 22, 33]
    # used before its definition: said so, in every instance
    assert sum(1 for _, m in messages if m.endswith("(it is defined later in the file; keepalived "
                                                    "needs it before its users)")) == 3
    # an instance name written in the sync group outside `group { }`
    assert (6, "(G) unknown keyword 'C' in vrrp_sync_group; sync group members go inside "
               "'group { ... }'") in messages


def test_read_text_streams_too():
    nodes = []
    assert read_text("a {\n b\n}\nc\n{\n d\n}\ne\n", Diagnostics(), on_node=nodes.append) == ()
    # `c` then `{` on the next line: one block, handed over once it is closed
    assert [(n.keyword, n.children and [c.keyword for c in n.children]) for n in nodes] == [
        ("a", ["b"]), ("c", ["d"]), ("e", None)]
