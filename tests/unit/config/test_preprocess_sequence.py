"""~SEQ / ~SEQx / ~LST parsing (reference §1.9), unit level."""

import pytest

from fastvrrp.config.sequence import MAX_VALUES, SequenceError, parse_lst, parse_seq


def no_params(text):
    return text


def seq(line, substitute=no_params):
    s = parse_seq(line, substitute)
    values = [v[0] for v in s.values]
    assert len(values) == s.count
    return s.names, values, line[s.template_start:]


@pytest.mark.parametrize("line, values", [
    ("~SEQ(i,3) x", ["1", "2", "3"]),
    ("~SEQ(i,0) x", ["1", "0"]),                 # one argument: start 1, step -1
    ("~SEQ(i,-3) x", ["-1", "-2", "-3"]),
    ("~SEQ(i,1) x", ["1"]),
    ("~SEQ(i, 5, 3) x", ["5", "4", "3"]),        # two arguments: step towards the end
    ("~SEQ(i,4,4) x", ["4"]),
    ("~SEQ(M, 7, 2, 11) x", ["7", "9", "11"]),   # T5
    ("~SEQ(M, 7, 2, 12) x", ["7", "9", "11"]),
    ("~SEQ(i,10,-5,0) x", ["10", "5", "0"]),
    ("~SEQ(i,0x10,0x11) x", ["16", "17"]),      # strtol base 0
    ("~SEQ(i,010,011) x", ["8", "9"]),          # leading 0: octal
    ("~SEQ(i,,2) x", ["0", "1", "2"]),          # a missing number is 0, as strtol
    ("~SEQx(H,254,255) x", ["fe", "ff"]),       # T5
    ("~SEQx(H,0x1e,32) x", ["1e", "1f", "20"]),
])
def test_seq_values(line, values):
    assert seq(line)[1] == values


def test_seq_variable_and_template():
    assert seq("~SEQ ( v , 2 )   vrrp_instance VI_$v {") == (["v"], ["1", "2"], "vrrp_instance VI_$v {")
    assert seq("~SEQ(v,1)") == (["v"], ["1"], "")


def test_seq_arguments_are_substituted():
    assert seq("~SEQ(i,$N) x", lambda t: t.replace("$N", "2"))[1] == ["1", "2"]


@pytest.mark.parametrize("line, message", [
    ("~SEQ i,3) x", "must be followed by '\\('"),
    ("~SEQUENCE(i,3)", "must be followed by '\\('"),
    ("~SEQ(,3) x", "needs a variable name"),
    ("~SEQ(i) x", "needs a variable name"),
    ("~SEQ(a b,3) x", "needs a variable name"),
    ("~SEQ(i,3 x", "no closing"),
    ("~SEQ(i, 08) x", "invalid ~SEQ arguments"),   # 8 is not octal
    ("~SEQ(i,1,2,3,4) x", "invalid ~SEQ arguments"),
    ("~SEQ(i,1 2) x", "invalid ~SEQ arguments"),
    ("~SEQ(i,1,0,5) x", "step cannot reach"),
    ("~SEQ(i,5,1,1) x", "step cannot reach"),
    ("~SEQ(i,1,-1,5) x", "step cannot reach"),
    ("~SEQx(i,-1,5) x", "non-negative"),
    ("~SEQ(i,%d) x" % (MAX_VALUES + 1), "would produce"),
])
def test_seq_errors(line, message):
    with pytest.raises(SequenceError, match=message):
        parse_seq(line, no_params)


def lst(line):
    s = parse_lst(line)
    sets = list(s.values)
    assert len(sets) == s.count
    return s.names, sets, line[s.template_start:]


def test_lst_single_variable():
    assert lst("~LST(v, a, b,c) x $v") == (["v"], [["a"], ["b"], ["c"]], "x $v")


def test_lst_several_variables():
    # T5
    assert lst("~LST({X,Y},{1,a},{2,b}) t") == (["X", "Y"], [["1", "a"], ["2", "b"]], "t")
    assert lst("~LST( { X , Y } , { 1 , a } , {2} ) t")[1] == [["1", "a"], ["2", ""]]


@pytest.mark.parametrize("line", [
    "~LST v, a) x", "~LST(v a) x", "~LST(v, a b) x", "~LST({X,Y}, {1,2,3}) x", "~LST(,a) x",
    "~LST({X,Y} {1,2}) x", "~LST({X,Y},{1,2) x", "~LST(v, a",
])
def test_lst_errors(line):
    with pytest.raises(SequenceError):
        parse_lst(line)
