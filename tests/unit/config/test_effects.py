"""The keyword audit (issue 5 point 6): every keyword of the schema has an effect
or a warning.

Walks the whole schema table: each (block, keyword) must be in exactly one of
effects.EFFECTS (and the module named there must exist and use the name
given) or effects.NO_EFFECT (and a config that uses the keyword must give
the diagnostic named there, on the keyword's line).
"""

from pathlib import Path

import pytest

from fastvrrp.config import loads
from fastvrrp.config.effects import EFFECTS, NO_EFFECT, table_markdown
from fastvrrp.config.schema import iter_keys

PKG = Path(__file__).resolve().parents[3] / "fastvrrp"
ALL = sorted((b, k.name) for b, k in iter_keys())
KINDS = {(b, k.name): k.kind for b, k in iter_keys()}

INSTANCE = ("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n"
            " virtual_ipaddress {\n  10.0.0.1\n }\n%s}\n")


def _config(block, keyword, sample):
    """A config that uses `keyword` of `block` once, on a line starting with it;
    returns (text, line number of the keyword)."""
    line = ("%s %s" % (keyword, sample)).strip()
    if block == "top level":
        text = INSTANCE % "" + line + "\n"
        return text, text.count("\n", 0, text.index(line)) + 1
    if block == "global_defs":
        text = "global_defs {\n %s\n}\n" % line + INSTANCE % ""
        return text, 2
    if block == "vrrp_instance":
        return INSTANCE % (" %s\n" % line), 7
    if block == "vrrp_sync_group":
        text = INSTANCE % "" + "vrrp_sync_group G {\n group {\n  VI_1\n }\n %s\n}\n" % line
        return text, 12
    if block in ("track_group", "garp_group"):
        head = "track_group TG {\n" if block == "track_group" else "garp_group {\n"
        text = INSTANCE % "" + head + " %s\n}\n" % line
        return text, 9
    raise AssertionError("no sample config for block %s" % block)


def test_every_keyword_is_in_exactly_one_table():
    listed = set(EFFECTS) | set(NO_EFFECT)
    missing = [bk for bk in ALL if bk not in listed]
    assert missing == [], "keywords with neither an effect nor a warning: %s" % missing
    both = sorted(set(EFFECTS) & set(NO_EFFECT))
    assert both == []
    unknown = sorted(listed - set(ALL))
    assert unknown == [], "registry names keywords the schema does not have: %s" % unknown


@pytest.mark.parametrize("block,keyword", sorted(EFFECTS))
def test_an_effect_names_a_module_that_uses_it(block, keyword):
    module, name, what = EFFECTS[(block, keyword)]
    path = PKG / module
    assert path.is_file(), "%s %s: %s does not exist" % (block, keyword, module)
    assert name in path.read_text(), "%s %s: %s never mentions %r" % (block, keyword, module,
                                                                     name)
    assert what


@pytest.mark.parametrize("block,keyword", sorted(NO_EFFECT))
def test_a_keyword_without_effect_gives_its_diagnostic(block, keyword):
    entry = NO_EFFECT[(block, keyword)]
    text, line = _config(block, keyword, entry.sample)
    _config_model, diags = loads(text, filename="a.conf")
    found = [d for d in diags if d.code == entry.code]
    assert found, "%s %s: no %r diagnostic; got %s" % (block, keyword, entry.code,
                                                       [(d.code, d.message) for d in diags])
    assert any(d.pos.line >= line for d in found)
    if entry.code == "no-effect" and KINDS[(block, keyword)] not in ("named", "block"):
        # (a named / block keyword's warning comes from the keywords inside it)
        assert any(("'%s' has no effect in fastvrrp: %s" % (keyword, entry.reason)) in d.message
                   for d in found), [d.message for d in found]


def test_a_keyword_with_an_effect_gives_no_no_effect_warning():
    text = INSTANCE % " priority 150\n no_accept\n garp_lower_prio_repeat 2\n"
    _config_model, diags = loads(text, filename="a.conf")
    assert [d for d in diags if d.code == "no-effect"] == []


def test_a_repeated_no_effect_keyword_warns_every_time():
    text = INSTANCE % " debug 1\n debug 2\n"
    _config_model, diags = loads(text, filename="a.conf")
    assert [d.pos.line for d in diags if d.code == "no-effect"] == [7, 8]


def test_the_keyword_list_is_written_for_the_docs():
    table = table_markdown()
    for block, keyword in ALL:
        assert "| %s | `%s` |" % (block, keyword) in table


def test_the_docs_carry_the_current_list():
    doc = (PKG.parent / "docs" / "config-differences.md").read_text()
    assert table_markdown() in doc, "regenerate the keyword table in docs/config-differences.md"



def test_use_ipvlan_warns_when_read_and_is_refused_by_the_host_check(monkeypatch):
    import fastvrrp.config.host as H
    from fastvrrp.config.ast import Diagnostics
    config, diags = loads(INSTANCE % " use_ipvlan\n", filename="a.conf")
    assert [d.code for d in diags.errors] == []
    assert [d.code for d in diags.warnings] == ["no-effect"]
    for kernel, words in ((False, "has no ipvlan link type"), (True, "has ipvlan, but")):
        host = Diagnostics()
        monkeypatch.setattr(H, "kernel_has_ipvlan", lambda kernel=kernel: kernel)
        H.check_host(config, host, links={"eth0": H.Link("eth0", H.IFF_MULTICAST, 1)},
                     users=H.Users({}, {}), path_env="", firewall_probe=lambda ns: None)
        assert [d.code for d in host.errors] == ["unsupported-ipvlan"]
        assert words in host.errors[0].message and host.errors[0].pos.line == 7
