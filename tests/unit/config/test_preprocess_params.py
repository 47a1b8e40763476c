"""$NAME=value definitions and substitution (reference §1.8), unit level."""

import pytest

from fastvrrp.config.params import Definitions, ParamError


@pytest.fixture
def defs():
    return Definitions("main", lambda: "/etc/keepalived", seed=7)


def sub(defs, s):
    out, cols, uses = defs.substitute(s, list(range(1, len(s) + 1)))
    return out, cols, uses


# --- defining -----------------------------------------------------------------------

@pytest.mark.parametrize("line, name, lines, multiline", [
    ("$A=10", "A", ["10"], False),
    ("$A=   10 20", "A", ["10 20"], False),
    ("$_X1=v", "_X1", ["v"], False),
    ("$EMPTY=", "EMPTY", [""], False),
    ("$M=a \\", "M", ["a"], True),
    ("$M=a\\", "M", ["a"], True),
    ("$M=   \\", "M", [], True),
])
def test_parse_definition(defs, line, name, lines, multiline):
    d = defs.parse_definition(line)
    assert (d.name, d.lines, d.multiline) == (name, lines, multiline)
    assert defs.table[name] is d


@pytest.mark.parametrize("line", ["$A =10", "$1A=x", "$A", "$A-B=x", "A=1", "$=1", "${A}=1"])
def test_not_a_definition(defs, line):
    assert defs.parse_definition(line) is None


def test_multiline_lines_and_end(defs):
    d = defs.parse_definition("$M=first \\")
    assert defs.add_line(d, "second   \\") is True
    assert defs.add_line(d, "\\") is True          # nothing but '\': no line added
    assert defs.add_line(d, "last") is False
    assert d.lines == ["first", "second", "last"] and d.multiline


def test_empty_multiline_definition_becomes_plain(defs):
    d = defs.parse_definition("$M=\\")
    defs.finish(d)
    assert (d.lines, d.multiline) == ([""], False)


# --- substituting -------------------------------------------------------------------

def test_bare_name_needs_a_separator_after_it(defs):
    defs.set("A", "10")
    assert sub(defs, "x $A y")[0] == "x 10 y"
    assert sub(defs, "x $A,$A) $A")[0] == "x 10,10) 10"
    assert sub(defs, "x $Ax")[0] == "x $Ax"             # T4: literal kept
    assert sub(defs, "x $A.1")[0] == "x $A.1"
    assert sub(defs, "x ${A}.1 ${A}x")[0] == "x 10.1 10x"


def test_undefined_names_stay(defs):
    out, _, uses = sub(defs, "script \"kill -0 $PID ${X}\" $")
    assert out == "script \"kill -0 $PID ${X}\" $" and uses == []


def test_substituted_characters_take_the_column_of_the_use(defs):
    defs.set("NET", "10.0.0")
    out, cols, uses = sub(defs, "a ${NET}.1")
    assert out == "a 10.0.0.1"
    assert cols == [1, 2, 3, 3, 3, 3, 3, 3, 9, 10]
    assert [(u.name, u.col) for u in uses] == [("NET", 3)]


def test_recursive_lazy_expansion(defs):
    # T4: $B=${A}x, $A=10, ${B}y -> 10xy ; an empty parameter disappears first
    defs.parse_definition("$B=${A}x")
    defs.parse_definition("$A=10")
    defs.parse_definition("$EMPTY=")
    assert sub(defs, "${B}y")[0] == "10xy"
    assert sub(defs, "$A$EMPTY")[0] == "$A"            # not followed by a separator ...
    assert sub(defs, "${A}$EMPTY")[0] == "10"


def test_value_starting_with_tilde_stops_the_scan(defs):
    defs.set("S", "~SEQ(i,2) x $i")
    defs.set("i", "9")
    assert sub(defs, "$S")[0] == "~SEQ(i,2) x $i"


def test_self_reference_is_an_error_not_a_hang(defs):
    defs.parse_definition("$A=$A")
    with pytest.raises(ParamError, match="does not end"):
        sub(defs, "x $A")
    defs.parse_definition("$B=x $B")
    with pytest.raises(ParamError):
        sub(defs, "$B")


def test_multiline_only_at_the_end_of_the_line(defs):
    d = defs.parse_definition("$M=one \\")
    defs.add_line(d, "two")
    out, _, uses = sub(defs, "pre $M")
    assert out == "pre one" and uses[0].rest == ["two"]
    assert sub(defs, "$M post")[0] == "$M post"
    assert sub(defs, "${M}")[0] == "one"


def test_builtins(defs):
    assert sub(defs, "${_HASH}${_BANG}")[0] == "#!"
    assert sub(defs, "${_INSTANCE}")[0] == "main"
    assert sub(defs, "${_PWD}/x")[0] == "/etc/keepalived/x"
    assert sub(defs, "${_ENV HOME}")[0] == "${_ENV HOME}"      # not in keepalived 2.2.7


def test_random_range_and_arguments(defs):
    values = {int(sub(defs, "${_RANDOM 300 400}")[0]) for _ in range(200)}
    assert min(values) >= 300 and max(values) <= 400 and len(values) > 20
    assert sub(defs, "${_RANDOM 5 5}")[0] == "5"
    assert 0 <= int(sub(defs, "${_RANDOM}")[0]) <= 32767
    assert sub(defs, "${_RANDOM 5 }")[0] == "${_RANDOM 5 }"   # no trailing blank
    assert sub(defs, "${_RANDOM x}")[0] == "${_RANDOM x}"     # digits only
    assert sub(defs, "$_RANDOM 1")[0] != "$_RANDOM 1"          # bare use: no arguments
    with pytest.raises(ParamError, match="minimum is above"):
        sub(defs, "${_RANDOM 9 1}")


def test_random_seed_repeats(defs):
    defs.seed(42)
    first = [sub(defs, "${_RANDOM}")[0] for _ in range(5)]
    defs.seed(42)
    assert [sub(defs, "${_RANDOM}")[0] for _ in range(5)] == first


def test_arguments_only_for_builtins_that_take_them(defs):
    defs.set("A", "1")
    assert sub(defs, "${A 2}")[0] == "${A 2}"


def test_user_definition_overrides_builtin(defs):
    defs.parse_definition("$_HASH=hash")
    assert sub(defs, "${_HASH}")[0] == "hash"
