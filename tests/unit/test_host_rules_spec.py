"""RuleSpec -> RTM_NEWRULE / RTM_DELRULE requests (keepalived 2.2.7 alloc_rule, netlink_rule).

Requests are encoded to bytes and decoded again with pyroute2's fibmsg.
"""

import ipaddress
import logging
import socket

import pytest
from pyroute2.netlink.rtnl.fibmsg import fibmsg

from fastvrrp.host.rules import (FIB_RULE_INVERT, FR_ACT_BLACKHOLE, FR_ACT_GOTO, FR_ACT_NOP,
                                 FR_ACT_PROHIBIT, FR_ACT_TO_TBL, FR_ACT_UNREACHABLE,
                                 PreferenceAllocator, RuleSpec, assign_preferences)


def wire(spec):
    msg = spec.to_netlink().encode()
    msg.encode()
    back = fibmsg(msg.data)
    back.decode()
    return back


def test_table_rule_with_keepalived_defaults():
    spec = RuleSpec(from_="10.1.0.0/16", table=100, preference=200)
    back = wire(spec)
    assert back["family"] == socket.AF_INET and back["action"] == FR_ACT_TO_TBL
    assert back["table"] == 100 and back["src_len"] == 16
    assert back.get_attr("FRA_SRC") == "10.1.0.0"
    assert back.get_attr("FRA_PRIORITY") == 200
    assert back.get_attr("FRA_PROTOCOL") == 18               # RTPROT_KEEPALIVED
    assert back.get_attr("FRA_TABLE") is None
    assert str(spec) == "200: from 10.1.0.0/16 lookup 100 proto 18"


def test_every_selector_reaches_the_request():
    spec = RuleSpec(from_="10.1.0.0/16", to="10.2.0.0/24", not_=True, table="main",
                    preference=300, tos="0x10", fwmark="0x10/0xff", realms="2/3", iif="eth0",
                    oif="eth1", uidrange="1000-2000", sport=53, dport="1024-2048",
                    ipproto="udp", protocol="static", suppress_prefixlength=0,
                    suppress_ifgroup="default", tunnel_id=77)
    back = wire(spec)
    assert back["flags"] & FIB_RULE_INVERT and back["tos"] == 0x10
    assert back["table"] == 254 and back["dst_len"] == 24
    assert back.get_attr("FRA_DST") == "10.2.0.0"
    assert (back.get_attr("FRA_FWMARK"), back.get_attr("FRA_FWMASK")) == (0x10, 0xff)
    assert back.get_attr("FRA_FLOW") == (2 << 16) | 3
    assert back.get_attr("FRA_IIFNAME") == "eth0" and back.get_attr("FRA_OIFNAME") == "eth1"
    assert back.get_attr("FRA_UID_RANGE") == "1000:2000"
    assert back.get_attr("FRA_SPORT_RANGE") == "53:53"
    assert back.get_attr("FRA_DPORT_RANGE") == "1024:2048"
    assert back.get_attr("FRA_IP_PROTO") == 17
    assert back.get_attr("FRA_PROTOCOL") == 4
    assert back.get_attr("FRA_SUPPRESS_PREFIXLEN") == 0
    assert back.get_attr("FRA_SUPPRESS_IFGROUP") == 0
    assert back.get_attr("FRA_TUN_ID") == 77


@pytest.mark.parametrize("kwargs, action, table", [
    ({"table": 1000}, FR_ACT_TO_TBL, 0),                     # > 255: FRA_TABLE
    ({"type": "unicast"}, FR_ACT_TO_TBL, 254),               # a lookup in main
    ({"type": "blackhole"}, FR_ACT_BLACKHOLE, 0),
    ({"type": "unreachable"}, FR_ACT_UNREACHABLE, 0),
    ({"type": "prohibit"}, FR_ACT_PROHIBIT, 0),
    ({"nop": True}, FR_ACT_NOP, 0),
    ({"l3mdev": True}, FR_ACT_TO_TBL, 0),
])
def test_actions(kwargs, action, table):
    back = wire(RuleSpec(preference=10, **kwargs))
    assert back["action"] == action and back["table"] == table
    if kwargs.get("table") == 1000:
        assert back.get_attr("FRA_TABLE") == 1000
    if kwargs.get("l3mdev"):
        assert back.get_attr("FRA_L3MDEV") == 1


def test_goto_needs_a_lower_preference():
    back = wire(RuleSpec(goto=500, preference=100))
    assert back["action"] == FR_ACT_GOTO and back.get_attr("FRA_GOTO") == 500
    with pytest.raises(ValueError, match="needs a preference"):
        RuleSpec(goto=500)
    with pytest.raises(ValueError, match=">= goto target"):
        RuleSpec(goto=500, preference=500)


def test_ipv6_rules_and_family():
    spec = RuleSpec(to="fd00:5::/64", table=5, preference=1)
    assert spec.family == 6 and wire(spec)["family"] == socket.AF_INET6
    bare = RuleSpec(family="inet6", table=5, preference=1)
    assert bare.family == 6 and str(bare).startswith("inet6 ")
    assert RuleSpec(table=5, preference=1).family == 4
    assert RuleSpec(from_="all", table=5, preference=1).from_ is None
    assert RuleSpec(from_=ipaddress.ip_network("10.0.0.0/8"), table=5).from_.prefixlen == 8


@pytest.mark.parametrize("kwargs, message", [
    ({}, "no action"),
    ({"table": 5, "nop": True}, "only one of"),
    ({"table": 5, "type": "blackhole"}, "only one of"),
    ({"table": 5, "l3mdev": True}, "only one of"),
    ({"table": 0}, "table 0"),
    ({"table": "nosuch"}, "unknown rule table"),
    ({"type": "throw"}, "type must be"),
    ({"nop": True, "realms": 3}, "need the table action"),
    ({"nop": True, "suppress_prefixlength": 1}, "need the table action"),
    ({"table": 5, "from_": "10.0.0.0/8", "to": "fd00::/8"}, "cannot be mixed"),
    ({"table": 5, "family": 6, "from_": "10.0.0.0/8"}, "cannot be mixed"),
    ({"table": 5, "to": "fd00::/8", "realms": 1}, "IPv4 only"),
    ({"table": 5, "fwmark": "0x10/0xff", "fwmask": 3}, "fwmask given twice"),
    ({"table": 5, "fwmask": 3}, "fwmask without fwmark"),
    ({"table": 5, "fwmark": "nope"}, "fwmark"),
    ({"table": 5, "sport": "20-10"}, "empty"),
    ({"table": 5, "dport": 70000}, "dport"),
    ({"table": 5, "uidrange": "a-b"}, "uidrange"),
    ({"table": 5, "ipproto": "nosuchproto"}, "unknown IP protocol"),
    ({"table": 5, "iif": "a b"}, "bad interface name"),
    ({"table": 5, "preference": -1}, "preference"),
    ({"table": 5, "tos": 256}, "tos"),
    ({"table": 5, "family": 7}, "family"),
    ({"table": 5, "nop": "yes"}, "True or False"),
])
def test_bad_specs_say_why(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RuleSpec(**kwargs)


def test_protocol_none_sends_no_fra_protocol():
    assert wire(RuleSpec(table=5, preference=1, protocol=None)).get_attr("FRA_PROTOCOL") is None


def test_a_rule_without_preference_cannot_be_sent():
    with pytest.raises(ValueError, match="no preference"):
        RuleSpec(table=5).to_netlink()


def test_preferences_count_down_from_16384_per_family_with_a_warning(caplog):
    allocator = PreferenceAllocator()
    specs = [RuleSpec(table=1), RuleSpec(to="fd00::/8", table=1), RuleSpec(table=2),
             RuleSpec(table=3, preference=7)]
    with caplog.at_level(logging.WARNING, logger="fastvrrp.host"):
        out = assign_preferences(specs, allocator, name="VI_1")
    assert [s.preference for s in out] == [16384, 16384, 16383, 7]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 3
    assert all(w.startswith("(VI_1) rule ") and "probably not what you want" in w
               for w in warnings)
    # the allocator is shared: the next instance's rules continue the count
    again = assign_preferences([RuleSpec(table=9)], allocator)
    assert again[0].preference == 16382
    with pytest.raises(TypeError):
        assign_preferences(["from all lookup 5"], allocator)


def test_specs_compare_by_value():
    a = RuleSpec(from_="10.0.0.0/8", table="main", fwmark="0x1/0x1", sport="80", preference=5)
    b = RuleSpec(from_=ipaddress.ip_network("10.0.0.0/8"), table=254, fwmark=1, fwmask=1,
                 sport=(80, 80), preference="5")
    assert a == b and hash(a) == hash(b)
