"""include lines, include_check, globbing and file checks (reference §1.6), unit level."""

import os

import pytest

from fastvrrp.config.include import (CHECK_ALL, CHECK_BRACE, CHECK_MATCH, CHECK_READ,
                                     CHECK_WILDCARD, check_file, expand_braces, find,
                                     parse_include, parse_include_check)


@pytest.mark.parametrize("line, result", [
    ("include a.conf", ("include", 0, "a.conf")),
    ("include \t conf.d/*.conf", ("include", 0, "conf.d/*.conf")),
    ("include a b.conf", ("include", 0, "a b.conf")),      # the rest of the line
    ("includer x", ("includer", CHECK_READ, "x")),
    ("includem x", ("includem", CHECK_READ | CHECK_MATCH, "x")),
    ("includew x", ("includew", CHECK_READ | CHECK_MATCH | CHECK_WILDCARD, "x")),
    ("includeb x", ("includeb", CHECK_READ | CHECK_BRACE, "x")),
    ("includea x", ("includea", CHECK_ALL, "x")),
    ("include", ("include", 0, "")),
    ("includea", ("includea", CHECK_ALL, "")),
])
def test_parse_include(line, result):
    assert parse_include(line) == result


@pytest.mark.parametrize("line", ["include_check read", "includex a", "includes", "Include a",
                                  "xinclude a"])
def test_not_an_include(line):
    assert parse_include(line) is None


@pytest.mark.parametrize("args, before, after", [
    ([], 0, CHECK_ALL),
    (["match"], CHECK_ALL, CHECK_READ | CHECK_MATCH),
    (["+brace_match"], CHECK_READ, CHECK_READ | CHECK_BRACE),
    (["-read", "+wildcard_match"], CHECK_READ | CHECK_MATCH, CHECK_MATCH | CHECK_WILDCARD),
])
def test_include_check(args, before, after):
    assert parse_include_check(args, before) == (after, [])


def test_include_check_errors():
    value, errors = parse_include_check(["read", "match", "+bogus"], 0)
    assert value == CHECK_READ
    assert errors == ["include_check 'match' given twice - ignoring",
                      "unknown include_check type 'bogus' (expected read, match, wildcard_match "
                      "or brace_match) - ignoring"]


@pytest.mark.parametrize("pattern, expanded", [
    ("a.conf", ["a.conf"]),
    ("{a,b}.conf", ["a.conf", "b.conf"]),
    ("x{a,b{1,2}}y", ["xay", "xb1y", "xb2y"]),
    ("{a}.conf", ["a.conf"]),
    ("{a,b.conf", ["{a,b.conf"]),             # unbalanced: literal
    ("\\{a,b}.conf", ["\\{a,b}.conf"]),        # escaped brace
    ("{a,b}/{c,d}", ["a/c", "a/d", "b/c", "b/d"]),
])
def test_expand_braces(pattern, expanded):
    assert expand_braces(pattern) == expanded


@pytest.fixture
def tree(tmp_path):
    for name in ("b.conf", "a.conf", "c.conf", ".hidden.conf", "sub/x.conf", "sub/y.conf"):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text("x\n")
    return tmp_path


def test_find_glob_sorted_relative_to_base(tree):
    found = find("*.conf", str(tree))
    assert found.paths == [str(tree / n) for n in ("a.conf", "b.conf", "c.conf")]
    assert not found.missing and not found.unmatched


def test_find_brace_alternatives_in_order(tree):
    found = find("{c,a,zz}.conf", str(tree))
    assert found.paths == [str(tree / "c.conf"), str(tree / "a.conf")]
    assert found.missing == ["zz.conf"] and found.braces


def test_find_negated_class_and_escapes(tree):
    assert find("[^a].conf", str(tree)).paths == [str(tree / "b.conf"), str(tree / "c.conf")]
    assert find("[!ab].conf", str(tree)).paths == [str(tree / "c.conf")]
    (tree / "*.conf").write_text("x\n")
    assert find("\\*.conf", str(tree)).paths == [str(tree / "*.conf")]


def test_find_missing_and_unmatched(tree):
    assert find("nothere.conf", str(tree)).missing == ["nothere.conf"]
    assert find("nodir/*.conf", str(tree)).missing == ["nodir/*.conf"]
    assert find("sub/*.none", str(tree)).unmatched == ["sub/*.none"]


def test_find_relative_display_paths(tree, monkeypatch):
    monkeypatch.chdir(tree)
    assert find("../sub/*.conf", "sub").paths == ["sub/x.conf", "sub/y.conf"]
    assert find("a.conf", "").paths == ["a.conf"]


def test_find_absolute_pattern_ignores_base(tree):
    assert find(str(tree / "sub" / "x.conf"), "/nowhere").paths == [str(tree / "sub" / "x.conf")]


def test_check_file(tree):
    assert check_file(str(tree / "a.conf"))[1] is None
    assert check_file(str(tree / "sub"))[1] == "'%s' is a directory - skipping" % (tree / "sub")
    os.chmod(tree / "b.conf", 0o744)
    assert check_file(str(tree / "b.conf"))[1] == (
        "'%s' is not a regular non-executable file - skipping" % (tree / "b.conf"))
    assert check_file(str(tree / "none"))[1] == (
        "'%s' cannot be read: No such file or directory" % (tree / "none"))
