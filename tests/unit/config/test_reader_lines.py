"""read_text / read_config: comments, quotes, words, braces and positions
(reference §1.1-1.4), asserted as exact trees and exact diagnostics."""

import pytest

from fastvrrp.config.ast import Diagnostics, Node, Pos, Word
from fastvrrp.config.reader import read_config, read_text


def word(w):
    return "%s%s@%d:%d" % ('"' if w.quoted else "", w.text, w.pos.line, w.pos.col)


def dump(nodes, indent=""):
    out = []
    for n in nodes:
        out.append(indent + " ".join(word(w) for w in n.words) + (" {" if n.children is not None else ""))
        if n.children is not None:
            out.extend(dump(n.children, indent + "  "))
            out.append(indent + ("}@%d:%d" % (n.close.line, n.close.col) if n.close else "} (none)"))
    return out


def read(text, config_id="main"):
    diags = Diagnostics()
    nodes = read_text(text, diags, "k.conf", config_id=config_id)
    return dump(nodes), [str(d) for d in diags]


def test_plain_block_positions_and_close():
    text = "vrrp_instance VI_1 {\n    state MASTER\n\tinterface ens33\n}\n"
    assert read(text) == ([
        "vrrp_instance@1:1 VI_1@1:15 {",
        "  state@2:5 MASTER@2:11",
        "  interface@3:2 ens33@3:12",
        "}@4:1",
    ], [])


def test_node_objects_are_the_contract_types():
    diags = Diagnostics()
    (node,) = read_text("a b {\n c\n}\n", diags, "k.conf")
    assert node == Node((Word("a", Pos("k.conf", 1, 1)), Word("b", Pos("k.conf", 1, 3))),
                        (Node((Word("c", Pos("k.conf", 2, 2)),)),), Pos("k.conf", 3, 1))
    assert node.text == "a b" and node.children[0].text == "c"
    assert node.keyword == "a" and node.pos == Pos("k.conf", 1, 1)


def test_comments_hash_and_bang_anywhere():
    text = ("# header\n! another\nglobal_defs { # open\n  router_id r1 ! end\n"
            "  notification_email_from a@b.c#x\n}   # done\n")
    assert read(text) == ([
        "global_defs@3:1 {",
        "  router_id@4:3 r1@4:13",
        "  notification_email_from@5:3 a@b.c@5:27",
        "}@6:1",
    ], [])


def test_comment_characters_inside_double_quotes_are_kept():
    assert read('script "a # b ! c" # real comment\n') == (
        ['script@1:1 "a # b ! c@1:8'], [])


def test_single_quotes_do_not_protect_comments():
    assert read("script 'kill -0 # x'\n") == (["script@1:1 'kill@1:8 -0@1:14"], [])


def test_escaped_comment_characters():
    assert read("router_id a\\#b\\!c\n") == (["router_id@1:1 a#b!c@1:11"], [])


def test_quoted_words_spaces_and_adjacent_words():
    assert read('notify_master "/bin/x a  b" root\nx ab"cd"ef\n') == (
        ['notify_master@1:1 "/bin/x a  b@1:15 root@1:29',
         'x@2:1 ab@2:3 "cd@2:5 ef@2:9'], [])


def test_text_is_the_logical_line_for_script_keywords():
    diags = Diagnostics()
    nodes = read_text("vrrp_script s {\n  script '/bin/check  x' # c\n}\n", diags, "k.conf")
    assert nodes[0].children[0].text == "script '/bin/check  x'"
    assert [w.text for w in nodes[0].children[0].words] == ["script", "'/bin/check", "x'"]


def test_unterminated_quote_one_error():
    assert read('a "b c\nd\n') == (["a@1:1", "d@2:1"], [
        "k.conf:1:3: error: unterminated quote: no closing '\"' on this line"])


def test_unmatched_quote_from_the_tokenizer():
    # decomment sees no open quote (\" is skipped), the tokenizer does
    assert read('a \\"b c\n') == (["a@1:1 \\@1:3"], [
        "k.conf:1:4: error: unmatched quote: no closing '\"'; the rest of the line is ignored"])


def test_semicolon_is_a_word_and_one_value_per_line():
    assert read("interface eth0 ; virtual_router_id 53\nvirtual_ipaddress { 10.9.8.1/24 10.9.8.2/24 }\n") == ([
        "interface@1:1 eth0@1:11 ;@1:16 virtual_router_id@1:18 53@1:36",
        "virtual_ipaddress@2:1 {",
        "  10.9.8.1/24@2:21 10.9.8.2/24@2:33",
        "}@2:45",
    ], [])


@pytest.mark.parametrize("text", [
    "vrrp_instance X {\n  state BACKUP\n}\n",
    "vrrp_instance X\n{\n  state BACKUP\n}\n",
    "vrrp_instance X\n# comment between\n\n   {   # comment\n  state BACKUP\n}\n",
])
def test_brace_on_same_or_next_line(text):
    lines, diags = read(text)
    assert [l.split("@")[0] for l in lines] == ["vrrp_instance", "  state", "}"]
    assert diags == []


def test_several_blocks_and_words_after_braces_on_one_line():
    assert read("a { b } c { d { e } }\n} \n") == ([
        "a@1:1 {",
        "  b@1:5",
        "}@1:7",
        "c@1:9 {",
        "  d@1:13 {",
        "    e@1:17",
        "  }@1:19",
        "}@1:21",
    ], ["k.conf:2:1: error: extra '}' with no block to close - ignored"])


def test_text_after_closing_brace_is_a_new_line():
    assert read("a {\n b\n} trailing\n") == (["a@1:1 {", "  b@2:2", "}@3:1", "trailing@3:3"], [])


def test_unknown_sub_block_stays_one_node():
    text = ("vrrp_instance VI_1 {\n  future_block {\n    x 1\n  }\n  priority 100\n}\n")
    assert read(text) == ([
        "vrrp_instance@1:1 VI_1@1:15 {",
        "  future_block@2:3 {",
        "    x@3:5 1@3:7",
        "  }@4:3",
        "  priority@5:3 100@5:12",
        "}@6:1",
    ], [])


def test_stray_open_brace_keeps_contents_at_the_level():
    text = "a {\n}\n{\n  b\n}\nc\n"
    assert read(text) == (["a@1:1 {", "}@2:1", "b@4:3", "c@6:1"], [
        "k.conf:3:1: error: '{' with no keyword before it; its contents are read as if the "
        "braces were not there"])


def test_unclosed_blocks_at_end_name_their_lines():
    text = "global_defs {\n  router_id x\n}\nvrrp_instance VI_1\n{\n  track_script {\n    chk\n"
    assert read(text) == ([
        "global_defs@1:1 {", "  router_id@2:3 x@2:13", "}@3:1",
        "vrrp_instance@4:1 VI_1@4:15 {",
        "  track_script@6:3 {",
        "    chk@7:5",
        "  } (none)",
        "} (none)",
    ], [
        "k.conf:6:16: error: missing '}': the block of 'track_script' (line 6) is not closed at "
        "the end of the configuration",
        "k.conf:5:1: error: missing '}': the block of 'vrrp_instance VI_1' (line 4) is not closed "
        "at the end of the configuration",
    ])


def test_quoted_braces_are_words():
    assert read('a "{" b "}"\nc "x{y"\n') == (['a@1:1 "{@1:3 b@1:7 "}@1:9', 'c@2:1 "x{y@2:3'], [])


def test_braces_after_an_unterminated_quote_are_not_split():
    assert read('a "b { c\n') == (["a@1:1"], [
        "k.conf:1:3: error: unterminated quote: no closing '\"' on this line"])


def test_crlf_and_lone_cr():
    assert read("a {\r\n  b 1\r\n}\r\nc\rd\r\n") == (["a@1:1 {", "  b@2:3 1@2:5", "}@3:1", "c@4:1 d@4:3"], [])


def test_keywords_are_case_sensitive_and_kept_verbatim():
    assert read("Global_Defs {\n}\n")[0] == ["Global_Defs@1:1 {", "}@2:1"]


def test_chinese_comments_and_fullwidth_text_keep_columns():
    text = "#\u68c0\u6d4b\u811a\u672c\nvrrp_script \u811a\u672c { #\u5fc3\u8df3\n  interval\u30002 #(x)\n}\n"
    assert read(text) == ([
        "vrrp_script@2:1 \u811a\u672c@2:13 {",
        "  interval\u30002@3:3",                 # U+3000 is not a separator for keepalived
        "}@4:1",
    ], [])


def test_trailing_backslash_is_kept_with_a_warning():
    assert read("priority 100 \\\nnext\n") == (["priority@1:1 100\\@1:10", "next@2:1"], [
        "k.conf:1:14: warning: a '\\' at the end of a line does not continue it (only $NAME= "
        "definitions do); it stays part of the word '100\\'"])


def test_empty_input():
    assert read("") == ([], [])
    assert read("\n\n# x\n   \n") == ([], [])


def test_bad_bytes_nul_bom_and_long_lines(tmp_path):
    path = tmp_path / "k.conf"
    long_value = "x" * 1100
    path.write_bytes(b"\xef\xbb\xbfa \xff\xfe # \xe4\xb8\xad\xe6\x96\x87\nb\x00c\nc " + long_value.encode()
                     + b"\nd\n")
    diags = Diagnostics()
    nodes = read_config(str(path), diags)
    assert dump(nodes) == ["a@1:1 \udcff\udcfe@1:3", "c@3:1 %s@3:3" % long_value, "d@4:1"]
    assert [str(d) for d in diags] == [
        "%s:1:1: warning: UTF-8 byte order mark at the start of the file ignored (keepalived "
        "2.2.7 reads it as part of the first word)" % path,
        "%s:2:2: error: line contains a NUL byte - ignoring the line" % path,
        "%s:3:1: warning: line is 1102 bytes long; keepalived reads at most 1023 bytes per line "
        "(2.2.7 splits longer lines, 2.4 ignores them)" % path,
    ]
    assert [d.code for d in diags] == ["bom", "nul-byte", "line-too-long"]


def test_unreadable_main_file_gives_one_error_and_no_nodes(tmp_path):
    diags = Diagnostics()
    missing = str(tmp_path / "none.conf")
    assert read_config(missing, diags) == ()
    assert [(str(d), d.code) for d in diags] == [
        ("%s:0:0: error: '%s' cannot be read: No such file or directory" % (missing, missing),
         "config-unreadable")]
    diags = Diagnostics()
    assert read_config(str(tmp_path), diags) == ()
    assert [d.message for d in diags] == ["'%s' is a directory - skipping" % tmp_path]


def test_main_file_glob(tmp_path):
    (tmp_path / "a.conf").write_text("a\n")
    (tmp_path / "b.conf").write_text("b\n")
    diags = Diagnostics()
    nodes = read_config(str(tmp_path / "*.conf"), diags)
    assert [n.keyword for n in nodes] == ["a", "b"]
    assert [d.code for d in diags] == ["multiple-config-files"]
    diags = Diagnostics()
    assert read_config(str(tmp_path / "*.none"), diags) == ()
    assert [d.code for d in diags] == ["config-not-found"]


def test_messages_show_bytes_that_are_not_utf8_escaped(tmp_path):
    path = tmp_path / "k.conf"
    path.write_bytes(b"~LST(v, a\xff b) x\n")
    diags = Diagnostics()
    read_config(str(path), diags)
    assert [d.message for d in diags] == ["invalid ~LST specification '~LST(v, a\\xff b) x'"]
    str(diags.items[0]).encode("utf-8")
