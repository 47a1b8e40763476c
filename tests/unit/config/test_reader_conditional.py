"""Conditional lines `@id` / `@^id` and the config-id (reference §1.7)."""

import os

import pytest

from fastvrrp.config.ast import Diagnostics
from fastvrrp.config.reader import default_config_id, read_text


def word(w):
    return "%s@%d:%d" % (w.text, w.pos.line, w.pos.col)


def dump(nodes, indent=""):
    out = []
    for n in nodes:
        out.append(indent + " ".join(word(w) for w in n.words) + (" {" if n.children is not None else ""))
        if n.children is not None:
            out.extend(dump(n.children, indent + "  "))
            out.append(indent + "}")
    return out


def read(text, config_id):
    diags = Diagnostics()
    nodes = read_text(text, diags, "k.conf", config_id=config_id)
    return dump(nodes), [str(d) for d in diags]


LINES = "@main a 1\n@^main b 2\n@backup c 3\n@^backup d 4\n@main\n  @main\te 5\n@mainx f 6\n"


@pytest.mark.parametrize("config_id, expected", [
    ("main", ["a@1:7 1@1:9", "d@4:10 4@4:12", "e@6:9 5@6:11"]),
    ("backup", ["b@2:8 2@2:10", "c@3:9 3@3:11"]),
    ("Main", ["b@2:8 2@2:10", "d@4:10 4@4:12"]),          # exact, case-sensitive
    ("other", ["b@2:8 2@2:10", "d@4:10 4@4:12"]),
])
def test_conditional_lines(config_id, expected):
    assert read(LINES, config_id) == (expected, [])


def test_default_config_id_is_the_short_node_name():
    assert default_config_id() == os.uname().nodename.split(".")[0]
    assert "." not in default_config_id()


def test_default_config_id_is_used_when_none(monkeypatch):
    monkeypatch.setattr("fastvrrp.config.reader.default_config_id", lambda: "thishost")
    diags = Diagnostics()
    nodes = read_text("@thishost a\n@other b\n", diags, "k.conf")
    assert [n.keyword for n in nodes] == ["a"]


def test_conditional_inside_blocks():
    text = "vrrp_instance VI_1 {\n  @main priority 150\n  @backup priority 100\n  unicast_peer {\n    @^main 10.0.0.1\n    @^backup 10.0.0.2\n  }\n}\n"
    assert read(text, "main")[0] == [
        "vrrp_instance@1:1 VI_1@1:15 {",
        "  priority@2:9 150@2:18",
        "  unicast_peer@4:3 {",
        "    10.0.0.2@6:14",
        "  }",
        "}",
    ]


def test_dropped_line_that_opens_a_block_drops_the_whole_block():
    text = ("@backup vrrp_instance VI_B {\n  interface eth0\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n"
            "@main vrrp_instance VI_M {\n  interface eth1\n}\nafter\n")
    assert read(text, "main") == ([
        "vrrp_instance@7:7 VI_M@7:21 {", "  interface@8:3 eth1@8:13", "}", "after@10:1"], [])
    assert read(text, "backup")[0] == [
        "vrrp_instance@1:9 VI_B@1:23 {",
        "  interface@2:3 eth0@2:13",
        "  virtual_ipaddress@3:3 {", "    10.0.0.1@4:5", "  }",
        "}",
        "after@10:1",
    ]


def test_dropped_line_with_brace_on_the_next_line_drops_the_block():
    text = "@backup vrrp_instance VI_B\n{\n  x {\n  }\n}\n@main kept\n{\n  y\n}\n"
    assert read(text, "main") == (["kept@6:7 {", "  y@8:3", "}"], [])


def test_dropped_line_with_a_whole_block_on_it():
    text = "@backup track_script { chk } \nnext\n"
    assert read(text, "main") == (["next@2:1"], [])


def test_dropped_line_closing_and_opening():
    # the dropped line's own '}' does not close a real block; its '{' opens a dropped one
    text = "a {\n@backup } b {\n  c\n}\n  d\n}\n"
    assert read(text, "main") == (["a@1:1 {", "  d@5:3", "}"], [])


def test_at_line_processed_before_definitions():
    text = "@main $P=150\n@backup $P=100\npriority $P\n"
    assert read(text, "main")[0] == ["priority@3:1 150@3:10"]
    assert read(text, "backup")[0] == ["priority@3:1 100@3:10"]


def test_substituted_value_starting_with_at_is_a_condition():
    text = "$IF_MAIN=@main\n$IF_MAIN priority 240\n"
    assert read(text, "main")[0] == ["priority@2:10 240@2:19"]
    assert read(text, "backup")[0] == []
