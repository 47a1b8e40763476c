"""Character-level rules of keepalived.conf (reference §1.1-1.4): lines,
comments, escapes, words, brace splitting, and the fast-path patterns."""

import pytest

from fastvrrp.config.lexer import (SIMPLE_LINE, decode, decomment, find_brace, physical_lines,
                                   split_brace, tokenize)


def cols(s, first=1):
    return list(range(first, first + len(s)))


def dc(s):
    text, c, quote = decomment(s, cols(s))
    return text, c, quote


# --- physical lines ---------------------------------------------------------------

def test_decode_keeps_bad_bytes_one_char_each():
    text, bom = decode(b"a\xff\xfeb \xe4\xb8\xad\n")
    assert not bom
    assert text == "a\udcff\udcfeb \u4e2d\n"
    assert text.encode("utf-8", "surrogateescape") == b"a\xff\xfeb \xe4\xb8\xad\n"


def test_decode_strips_bom():
    assert decode(b"\xef\xbb\xbfglobal_defs\n") == ("global_defs\n", True)


def test_physical_lines_split_on_newline_only():
    # \r alone, \v, \f and U+2028 are not line ends for fgets
    assert physical_lines("a\rb\n\vc\fd\u2028e\n\nlast") == ["a\rb", "\vc\fd\u2028e", "", "last"]


def test_physical_lines_final_newline_is_not_a_line():
    assert physical_lines("a\n") == ["a"]
    assert physical_lines("") == []


# --- decomment ------------------------------------------------------------------------

@pytest.mark.parametrize("line, text", [
    ("  priority 100   ", "priority 100"),
    ("\tpriority 100 # comment", "priority 100"),
    ("priority 100! bang", "priority 100"),
    ("# whole line", ""),
    ("! whole line", ""),
    ('script "a # b ! c" # real', 'script "a # b ! c"'),
    ("router_id a#b", "router_id a"),
    ("single 'a # b'", "single 'a"),           # single quotes do not protect
    ("a\\#b \\!c", "a#b !c"),                    # escaped comment characters
    ('"a\\#b"', '"a\\#b"'),                      # inside quotes: untouched
    ('a \\"b # c', 'a \\"b'),                    # \" does not open a quote
    ("x \\", "x\\"),                             # final \ kept, blanks before it removed
    ("x   \\", "x\\"),
    ("\\", "\\"),
    ("x # c \\", "x"),                           # >= 2.4: \ inside a comment is comment
    ("\f\va b\f", "\f\va b\f"),                  # only blanks (space, tab) are stripped
])
def test_decomment(line, text):
    assert dc(line)[0] == text


def test_decomment_columns_follow_removed_characters():
    s = "  a\\#b  c # x"
    text, c, _ = dc(s)
    assert text == "a#b  c"
    # a@3, '#'@5 (the backslash at 4 is gone), b@6, blanks 7-8, c@9
    assert c == [3, 5, 6, 7, 8, 9]


def test_decomment_trailing_backslash_column_is_the_backslash():
    text, c, _ = dc("ab   \\")
    assert text == "ab\\"
    assert c == [1, 2, 6]


def test_decomment_reports_unterminated_quote_index():
    text, c, quote = dc('  notify "abc # def')
    assert text == 'notify "abc # def'
    assert quote == 7 and c[quote] == 10


def test_decomment_quote_inside_comment_does_not_count():
    assert dc('a # "b')[2] is None


# --- words --------------------------------------------------------------------------------

def words(s):
    found, bad = tokenize(s, cols(s))
    return found, bad


def test_tokenize_words_and_columns():
    assert words("vrrp_instance  VI_1\tx") == ([("vrrp_instance", 1, False), ("VI_1", 16, False),
                                                ("x", 21, False)], None)


def test_tokenize_whitespace_set_is_keepalived_s():
    assert [w for w, _, _ in words("a\fb\vc\rd")[0]] == ["a", "b", "c", "d"]
    # U+3000 (ideographic space) and \x1c are not separators
    assert [w for w, _, _ in words("a\u3000b\x1cc")[0]] == ["a\u3000b\x1cc"]


def test_tokenize_quoted_word_keeps_blanks_no_escapes():
    assert words('script "/bin/x a  b" user') == (
        [("script", 1, False), ("/bin/x a  b", 8, True), ("user", 22, False)], None)
    assert words(r'a "x\"y" z') == ([("a", 1, False), ("x\\", 3, True), ("y", 7, False)], 7)


def test_tokenize_quote_ends_an_unquoted_word():
    assert words('ab"cd"ef') == ([("ab", 1, False), ("cd", 3, True), ("ef", 7, False)], None)


def test_tokenize_empty_quoted_word():
    assert words('auth_pass ""') == ([("auth_pass", 1, False), ("", 11, True)], None)


def test_tokenize_unmatched_quote_drops_the_rest():
    assert words('a b "c d') == ([("a", 1, False), ("b", 3, False)], 4)


def test_tokenize_semicolon_is_not_a_separator():
    assert [w for w, _, _ in words("interface eth0 ; virtual_router_id 53")[0]] == [
        "interface", "eth0", ";", "virtual_router_id", "53"]


# --- braces ---------------------------------------------------------------------------------

@pytest.mark.parametrize("line, index", [
    ("{", 0), ("} x", 0), ("a {", 2), ("a}b", 1), ('"{" {', 4), ('a "b { c', -1),
    ('a "b" c', -1), ("abc", -1),
])
def test_find_brace(line, index):
    assert find_brace(line) == index


@pytest.mark.parametrize("line, head, residue", [
    ("vrrp_instance X {", ("vrrp_instance X", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
     ("{", [17])),
    ("{ interface eth0", ("{", [1]), ("interface eth0", list(range(3, 17)))),
    ("{\t", ("{", [1]), None),
    ("} trailing", ("}", [1]), ("trailing", list(range(3, 11)))),
    ("a } b", ("a", [1]), ("} b", [3, 4, 5])),
    ("abc", ("abc", [1, 2, 3]), None),
])
def test_split_brace(line, head, residue):
    assert split_brace(line, cols(line)) == (head, residue)


# --- fast path patterns -------------------------------------------------------------------------

@pytest.mark.parametrize("line, content", [
    ("    virtual_router_id 66", "virtual_router_id 66"),
    ("\tinterval 2 #(\u68c0\u6d4b\u811a\u672c)", "interval 2 "),
    ("vrrp_instance VI_1 {", "vrrp_instance VI_1 {"),
    ("}", "}"),
    ("# only a comment \u4e2d", ""),
    ("", ""),
])
def test_simple_line_matches_plain_lines(line, content):
    m = SIMPLE_LINE.fullmatch(line)
    assert m is not None and m.group(1) == content


@pytest.mark.parametrize("line", [
    'script "/bin/x"', "a\\#b", "priority $P", "~SEQ(i,3) x", "@main x", "a\rb", "\u4e2d x",
    "a\x00b", "a\fb", "x \udcff",
])
def test_simple_line_rejects_lines_needing_the_general_path(line):
    assert SIMPLE_LINE.fullmatch(line) is None
