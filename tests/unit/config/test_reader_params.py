"""Parameters, multi-line definitions, ~SEQ / ~LST through the whole reader
(reference §1.8-1.10): exact trees, positions of substituted words, errors."""

from fastvrrp.config.ast import Diagnostics
from fastvrrp.config.reader import read_text


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


def read(text, config_id="main", base_dir=None):
    diags = Diagnostics()
    nodes = read_text(text, diags, "k.conf", config_id=config_id, base_dir=base_dir)
    return dump(nodes), [str(d) for d in diags]


def test_substituted_words_carry_the_position_of_the_use():
    text = "$PRIO=150\n$NET=10.1.2\nvrrp_instance VI_1 {\n  priority $PRIO\n  virtual_ipaddress {\n    ${NET}.1/24\n    ${NET}.2/24 dev eth${PRIO}\n  }\n}\n"
    assert read(text) == ([
        "vrrp_instance@3:1 VI_1@3:15 {",
        "  priority@4:3 150@4:12",
        "  virtual_ipaddress@5:3 {",
        "    10.1.2.1/24@6:5",
        "    10.1.2.2/24@7:5 dev@7:17 eth150@7:21",
        "  }@8:3",
        "}@9:1",
    ], [])


def test_definitions_are_global_and_redefinable():
    text = "$A=1\nx $A\n$A=2\ny $A\n"
    assert read(text)[0] == ["x@2:1 1@2:3", "y@4:1 2@4:3"]


def test_undefined_parameters_stay_for_scripts():
    assert read('script "/bin/sh -c \'echo $HOME ${USER}\'"\n')[0] == [
        "script@1:1 \"/bin/sh -c 'echo $HOME ${USER}'@1:8"]


def test_a_definition_can_make_a_whole_block_line():
    text = "$VI=vrrp_instance VI_9 {\n$VI\n  state BACKUP\n}\n"
    assert read(text)[0] == ["vrrp_instance@2:1 VI_9@2:1 {", "  state@3:3 BACKUP@3:9", "}@4:1"]


def test_hash_and_bang_only_survive_inside_quotes():
    text = 'virtual_router_id 2${_HASH}99\nauth_pass "3${_HASH}99"\nx a${_BANG}b\n'
    assert read(text)[0] == ["virtual_router_id@1:1 2@1:19", 'auth_pass@2:1 "3#99@2:11', "x@3:1 a@3:3"]


def test_instance_and_pwd(tmp_path):
    text = "router_id ${_INSTANCE}\nscript ${_PWD}/check.sh\n"
    assert read(text, config_id="lb1", base_dir=str(tmp_path))[0] == [
        "router_id@1:1 lb1@1:11", "script@2:1 %s/check.sh@2:8" % tmp_path]


def test_random_with_seed_is_repeatable():
    text = "global_defs {\n  random_seed 7\n}\nx ${_RANDOM 1 1000000}\n"
    first = read(text)[0]
    assert first == read(text)[0]
    assert 1 <= int(first[-1].split()[1].split("@")[0]) <= 1000000


def test_multiline_definition_expands_to_lines_at_the_use():
    text = ("$INST= \\\nvrrp_instance VI_${N} { \\\n   interface eth${N} \\\n   # a comment \\\n"
            "   virtual_router_id ${N}\n   \n$N=1\n$INST\n}\n$N=2\n$INST\n}\n")
    assert read(text) == ([
        "vrrp_instance@8:1 VI_1@8:1 {",
        "  interface@8:1 eth1@8:1",
        "  virtual_router_id@8:1 1@8:1",
        "}@9:1",
        "vrrp_instance@11:1 VI_2@11:1 {",
        "  interface@11:1 eth2@11:1",
        "  virtual_router_id@11:1 2@11:1",
        "}@12:1",
    ], [])


def test_multiline_definition_ends_at_an_empty_line():
    text = "$M=a \\\nb \\\n\nc\n$M\n"
    assert read(text)[0] == ["c@4:1", "a@5:1", "b@5:1"]


def test_multiline_definition_only_at_the_end_of_a_line():
    text = "$M=a \\\nb\nx $M\n$M y\n"
    assert read(text)[0] == ["x@3:1 a@3:3", "b@3:3", "$M@4:1 y@4:4"]


def test_nested_multiline_definitions():
    text = ("$INNER=i1_${N} \\\n  i2_${N}\n$OUTER= \\\n  o1_${N} { \\\n  $INNER \\\n  } \\\n  o2_$N\n"
            "$N=0\n$OUTER\n")
    assert read(text) == ([
        "o1_0@9:1 {", "  i1_0@9:1", "  i2_0@9:1", "}@9:1", "o2_0@9:1"], [])


def test_seq_and_lst_expansion_positions():
    text = ("~SEQ(i, 2) vrrp_instance VI_$i { virtual_router_id $i }\n"
            "~LST({IF,ID},{eth0,10},{eth1,11}) x $IF ${ID}\n"
            "~SEQx(H,254,255) ::${H}\n")
    assert read(text) == ([
        "vrrp_instance@1:12 VI_1@1:26 {", "  virtual_router_id@1:34 1@1:52", "}@1:55",
        "vrrp_instance@1:12 VI_2@1:26 {", "  virtual_router_id@1:34 2@1:52", "}@1:55",
        "x@2:35 eth0@2:37 10@2:41",
        "x@2:35 eth1@2:37 11@2:41",
        "::fe@3:18",
        "::ff@3:18",
    ], [])


def test_nested_sequences_first_is_outer():
    text = "~SEQ(a,2) ~SEQ(b,2) v${a}${b}\n"
    assert [l.split("@")[0] for l in read(text)[0]] == ["v11", "v12", "v21", "v22"]


def test_seq_arguments_use_parameters():
    text = "$N=3\n~SEQ(i,$N) x$i\n"
    assert [l.split("@")[0] for l in read(text)[0]] == ["x1", "x2", "x3"]


def test_seq_template_can_be_a_multiline_definition():
    text = "$B=b_$i { \\\n}\n~SEQ(i,2) $B\n"
    assert read(text)[0] == ["b_1@3:11 {", "}@3:11", "b_2@3:11 {", "}@3:11"]


def test_definition_of_a_sequence_line():
    text = "$S=~SEQ(k,2) x_$k\n$S\n"
    assert [l.split("@")[0] for l in read(text)[0]] == ["x_1", "x_2"]


def test_lines_starting_with_tilde_are_not_substituted():
    assert read("$A=1\n~x $A\n")[0] == ["~x@2:1 $A@2:4"]


def test_bad_sequences_are_errors_and_skipped():
    text = "~SEQ(i, 08) x\n~SEQ(i,1,0,5) y\n~LST(v, a b) z\n~SEQ(i,1 w\nafter\n"
    lines, diags = read(text)
    assert lines == ["after@5:1"]
    assert diags == [
        "k.conf:1:1: error: invalid ~SEQ arguments '~SEQ(i, 08)': expected up to three numbers "
        "separated by ',' and a closing ')'",
        "k.conf:2:1: error: invalid ~SEQ values '~SEQ(i,1,0,5)': the step cannot reach the end value",
        "k.conf:3:1: error: invalid ~LST specification '~LST(v, a b) z'",
        "k.conf:4:1: error: ~SEQ has no closing ')': '~SEQ(i,1 w'",
    ]


def test_seq_with_multiline_argument_is_an_error():
    text = "$M=1 \\\n2\n~SEQ(i,$M) x\n"
    assert read(text)[1] == [
        "k.conf:3:1: error: invalid ~SEQ arguments '~SEQ(i,$M)': expected up to three numbers "
        "separated by ',' and a closing ')'"]


def test_seq_variable_reusing_a_multiline_name_is_plain():
    text = "$M=a \\\nb\n~SEQ(M,1,2) x_${M}\n"
    assert [l.split("@")[0] for l in read(text)[0]] == ["x_1", "x_2"]


def test_self_referencing_definitions_are_errors():
    lines, diags = read("$A=$A\nx $A\n$B=@main $B\n$B\n$M=x \\\n$M\n$M\nafter\n")
    assert lines[-1] == "after@8:1"
    assert diags[:2] == [
        "k.conf:2:3: error: parameter substitution does not end (a definition that uses itself?)",
        "k.conf:4:1: error: parameter substitution does not end (a definition that uses itself?)",
    ]
    assert diags[2].startswith("k.conf:7:1: error: ")
    assert len(diags) == 3


def test_comment_after_substitution_and_quote_errors():
    lines, diags = read('$Q="abc\nx $Q\n')
    assert lines == ['x@2:1']
    assert diags == ["k.conf:1:4: error: unterminated quote: no closing '\"' on this line",
                     "k.conf:2:3: error: unterminated quote after parameter substitution"]
