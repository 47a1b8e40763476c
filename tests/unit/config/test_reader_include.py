"""include through the reader (reference §1.6): relative to the including
file, nested, in blocks, read once, cycles, missing files, include checks."""

import os

from fastvrrp.config.ast import Diagnostics
from fastvrrp.config.reader import read_config, read_text


def word(w):
    return "%s@%s:%d:%d" % (w.text, os.path.basename(w.pos.file), w.pos.line, w.pos.col)


def dump(nodes, indent=""):
    out = []
    for n in nodes:
        out.append(indent + " ".join(word(w) for w in n.words) + (" {" if n.children is not None else ""))
        if n.children is not None:
            out.extend(dump(n.children, indent + "  "))
            out.append(indent + "}")
    return out


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def read(path, **kw):
    diags = Diagnostics()
    nodes = read_config(str(path), diags, config_id="main", **kw)
    return dump(nodes), [(d.severity, d.code, d.pos.line, d.message) for d in diags]


def test_relative_to_the_including_file_nested_and_in_blocks(tmp_path, monkeypatch):
    write(tmp_path, {
        "etc/keepalived.conf": "top\ninclude conf.d/*.conf\nvrrp_instance VI_1 {\n  include inst/body.conf\n}\nend\n",
        "etc/conf.d/b.conf": "b1\n",
        "etc/conf.d/a.conf": "a1\ninclude ../more/m.conf\na2\n",
        "etc/more/m.conf": "m1\n",
        "etc/inst/body.conf": "  interface eth0\n  virtual_ipaddress {\n    10.0.0.1\n  }\n",
    })
    monkeypatch.chdir("/")
    assert read(tmp_path / "etc" / "keepalived.conf") == ([
        "top@keepalived.conf:1:1",
        "a1@a.conf:1:1", "m1@m.conf:1:1", "a2@a.conf:3:1",
        "b1@b.conf:1:1",
        "vrrp_instance@keepalived.conf:3:1 VI_1@keepalived.conf:3:15 {",
        "  interface@body.conf:1:3 eth0@body.conf:1:13",
        "  virtual_ipaddress@body.conf:2:3 {",
        "    10.0.0.1@body.conf:3:5",
        "  }",
        "}",
        "end@keepalived.conf:6:1",
    ], [])


def test_include_paths_in_positions_are_usable_from_the_cwd(tmp_path, monkeypatch):
    write(tmp_path, {"k/main.conf": "include sub/x.conf\n", "k/sub/x.conf": "x\n"})
    monkeypatch.chdir(tmp_path)
    diags = Diagnostics()
    (node,) = read_config("k/main.conf", diags)
    assert node.pos.file == "k/sub/x.conf"


def test_a_block_may_open_in_one_file_and_close_in_another(tmp_path):
    write(tmp_path, {"m.conf": "include open.conf\n  b\n}\n", "open.conf": "a {\n"})
    assert read(tmp_path / "m.conf") == (["a@open.conf:1:1 {", "  b@m.conf:2:3", "}"], [])


def test_each_file_is_read_once(tmp_path):
    write(tmp_path, {"m.conf": "include x.conf\ninclude x.conf\ninclude ./x.conf\nafter\n",
                     "x.conf": "x\n"})
    x = tmp_path / "x.conf"
    lines, diags = read(tmp_path / "m.conf")
    assert lines == ["x@x.conf:1:1", "after@m.conf:4:1"]
    first = "%s:1:1" % (tmp_path / "m.conf")
    assert diags == [
        ("warning", "include-repeated", 2, "'%s' was already read (%s); not read again" % (x, first)),
        ("warning", "include-repeated", 3, "'%s' was already read (%s); not read again" % (x, first)),
    ]


def test_cycles_are_cut(tmp_path):
    write(tmp_path, {"m.conf": "m\ninclude a.conf\n", "a.conf": "a\ninclude m.conf\ninclude a.conf\n"})
    lines, diags = read(tmp_path / "m.conf")
    assert lines == ["m@m.conf:1:1", "a@a.conf:1:1"]
    assert [(code, line) for _, code, line, _ in diags] == [("include-repeated", 2), ("include-repeated", 3)]


def test_missing_and_unmatched(tmp_path):
    write(tmp_path, {"m.conf": "include none.conf\ninclude nodir/*.conf\ninclude d/*.none\n"
                               "include {a,zz}.conf\nincluder none.conf\nincludem none.conf\n"
                               "includew d/*.none\ninclude\n",
                     "a.conf": "a\n", "d/x.conf": "x\n"})
    lines, diags = read(tmp_path / "m.conf")
    assert lines == ["a@a.conf:1:1"]
    assert diags == [
        ("warning", "include-missing", 1, "config files missing: nothing matches 'none.conf'"),
        ("warning", "include-missing", 2, "config files missing: nothing matches 'nodir/*.conf'"),
        ("warning", "include-missing", 4, "some config files missing: '{a,zz}.conf' (zz.conf)"),
        ("warning", "include-missing", 5, "config files missing: nothing matches 'none.conf'"),
        ("error", "include-missing", 6, "config files missing: nothing matches 'none.conf'"),
        ("error", "include-no-match", 7, "no config files matched 'd/*.none'"),
        ("error", "include-no-pattern", 8, "'include' needs a file name or pattern"),
    ]


def test_brace_check_skips_the_whole_include(tmp_path):
    write(tmp_path, {"m.conf": "includeb {a,zz}.conf\nafter\n", "a.conf": "a\n"})
    lines, diags = read(tmp_path / "m.conf")
    assert lines == ["after@m.conf:2:1"]
    assert diags == [("error", "include-missing", 1, "some config files missing: '{a,zz}.conf' (zz.conf)")]


def test_only_regular_non_executable_files(tmp_path):
    write(tmp_path, {"m.conf": "include d/*\nincluder exe.conf\n", "d/ok.conf": "ok\n",
                     "d/sub/x.conf": "no\n", "exe.conf": "no\n"})
    os.chmod(tmp_path / "exe.conf", 0o755)
    lines, diags = read(tmp_path / "m.conf")
    assert lines == ["ok@ok.conf:1:1"]
    assert diags == [
        ("warning", "include-unreadable", 1, "'%s' is a directory - skipping" % (tmp_path / "d" / "sub")),
        ("error", "include-unreadable", 2,
         "'%s' is not a regular non-executable file - skipping" % (tmp_path / "exe.conf")),
    ]


def test_include_check_in_global_defs_applies_until_the_end_of_its_file(tmp_path):
    write(tmp_path, {"m.conf": "include g.conf\ninclude none1.conf\n",
                     "g.conf": "global_defs {\n  include_check\n}\ninclude none2.conf\n"})
    lines, diags = read(tmp_path / "m.conf")
    assert lines == ["global_defs@g.conf:1:1 {", "  include_check@g.conf:2:3", "}"]
    assert [(sev, line) for sev, _, line, _ in diags] == [("error", 4), ("warning", 2)]


def test_all_config_makes_every_include_problem_an_error(tmp_path):
    write(tmp_path, {"m.conf": "include none.conf\n"})
    assert read(tmp_path / "m.conf", all_config=True)[1] == [
        ("error", "include-missing", 1, "config files missing: nothing matches 'none.conf'")]


def test_bad_include_check_words(tmp_path):
    diags = Diagnostics()
    read_text("global_defs {\n  include_check read +bogus\n}\n", diags, "k.conf")
    assert [str(d) for d in diags] == [
        "k.conf:2:3: error: unknown include_check type 'bogus' (expected read, match, "
        "wildcard_match or brace_match) - ignoring"]


def test_include_line_after_conditional_and_parameters_is_read_once(tmp_path):
    write(tmp_path, {"m.conf": "$D=sub\n@main include ${D}/x.conf\n@other include sub/y.conf\n",
                     "sub/x.conf": "x\n", "sub/y.conf": "y\n"})
    assert read(tmp_path / "m.conf") == (["x@x.conf:1:1"], [])


def test_includes_from_a_sequence_are_read_in_order(tmp_path):
    write(tmp_path, {"m.conf": "~SEQ(i,3) include f${i}.conf\n", "f1.conf": "one\n",
                     "f2.conf": "two\n", "f3.conf": "three\n"})
    assert read(tmp_path / "m.conf")[0] == ["one@f1.conf:1:1", "two@f2.conf:1:1", "three@f3.conf:1:1"]


def test_include_residue_after_brace(tmp_path):
    write(tmp_path, {"m.conf": "a { b } include x.conf\n", "x.conf": "x\n"})
    assert read(tmp_path / "m.conf")[0] == ["a@m.conf:1:1 {", "  b@m.conf:1:5", "}", "x@x.conf:1:1"]


def test_pwd_is_the_directory_of_the_current_file(tmp_path, monkeypatch):
    write(tmp_path, {"m.conf": "p ${_PWD}\ninclude sub/x.conf\n", "sub/x.conf": "q ${_PWD}\n"})
    monkeypatch.chdir(tmp_path)
    assert [line.split()[1].rsplit("@", 1)[0] for line in read("m.conf")[0]] == [
        str(tmp_path), str(tmp_path / "sub")]


def test_read_text_includes_from_base_dir(tmp_path):
    write(tmp_path, {"x.conf": "x\n"})
    diags = Diagnostics()
    nodes = read_text("include x.conf\n", diags, base_dir=str(tmp_path))
    assert [n.keyword for n in nodes] == ["x"] and not diags


def test_file_that_cannot_be_opened(tmp_path, monkeypatch):
    write(tmp_path, {"m.conf": "include x.conf\nincluder x.conf\nafter\n", "x.conf": "x\n"})
    real_open = open

    def deny(path, *args, **kw):
        if str(path).endswith("x.conf"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kw)

    monkeypatch.setattr("builtins.open", deny)
    x = tmp_path / "x.conf"
    assert read(tmp_path / "m.conf") == (["after@m.conf:3:1"], [
        ("warning", "include-unreadable", 1, "'%s' cannot be read: Permission denied" % x),
        ("error", "include-unreadable", 2, "'%s' cannot be read: Permission denied" % x),
    ])
