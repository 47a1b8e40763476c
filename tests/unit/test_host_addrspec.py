"""VipSpec -> netlink request: keepalived 2.2's address defaults (reference §2.3, §3.14)."""

import ipaddress
import socket

import pytest

from fastvrrp.host.addrspec import (IFA_F_HOMEADDRESS, IFA_F_MANAGETEMPADDR, IFA_F_MCAUTOJOIN,
                                    IFA_F_NODAD, IFA_F_NOPREFIXROUTE, IFAPROT_FASTVRRP,
                                    INFINITY_LIFE_TIME, CacheInfo, VipSpec, broadcast_for,
                                    parse_scope)


def attrs(req):
    return dict(req.attrs)


def test_ipv4_defaults_prefix_32_no_broadcast_scope_global():
    req = VipSpec("192.168.16.130", ifname="ens33").to_netlink(7)
    assert (req.family, req.prefixlen, req.scope, req.index, req.flags) == \
        (socket.AF_INET, 32, 0, 7, 0)
    a = attrs(req)
    assert a["IFA_LOCAL"] == "192.168.16.130"
    assert a["IFA_ADDRESS"] == "192.168.16.130"
    assert "IFA_BROADCAST" not in a              # no broadcast unless brd is given
    assert "IFA_LABEL" not in a
    assert "IFA_FLAGS" not in a
    assert "IFA_CACHEINFO" not in a              # IPv4: preferred_lft is not used
    assert a["IFA_PROTO"] == IFAPROT_FASTVRRP


def test_ipv6_defaults_prefix_128_nodad_and_deprecated():
    spec = VipSpec("fd00::50", ifindex=3)
    req = spec.to_netlink()
    assert (req.family, req.prefixlen, req.index) == (socket.AF_INET6, 128, 3)
    a = attrs(req)
    assert a["IFA_FLAGS"] == IFA_F_NODAD
    assert req.flags == IFA_F_NODAD
    # /128 -> preferred_lft 0 (deprecated), valid forever
    assert a["IFA_CACHEINFO"] == CacheInfo(preferred=0, valid=INFINITY_LIFE_TIME)


def test_ipv6_non_128_is_preferred_forever_without_cacheinfo():
    req = VipSpec("fd00::51/64", ifindex=3).to_netlink()
    assert req.prefixlen == 64
    assert "IFA_CACHEINFO" not in attrs(req)
    assert attrs(req)["IFA_FLAGS"] == IFA_F_NODAD


def test_ipv6_minus_nodad_clears_the_flag():
    req = VipSpec("fd00::52/64", ifindex=3, nodad=False).to_netlink()
    assert "IFA_FLAGS" not in attrs(req)
    assert req.flags == 0


@pytest.mark.parametrize("given,expected", [(30, 30), ("forever", None), (INFINITY_LIFE_TIME, None)])
def test_ipv6_explicit_preferred_lft(given, expected):
    req = VipSpec("fd00::53", ifindex=3, preferred_lft=given).to_netlink()
    info = attrs(req).get("IFA_CACHEINFO")
    if expected is None:
        assert info is None
    else:
        assert info == CacheInfo(preferred=expected)


def test_ipv4_preferred_lft_is_ignored_like_keepalived():
    req = VipSpec("10.0.0.9", ifindex=3, preferred_lft=0).to_netlink()
    assert "IFA_CACHEINFO" not in attrs(req)


def test_brd_address_plus_minus():
    assert attrs(VipSpec("10.1.2.3/24", ifindex=1, broadcast="10.1.2.250").to_netlink())[
        "IFA_BROADCAST"] == "10.1.2.250"
    assert attrs(VipSpec("10.1.2.3/24", ifindex=1, broadcast="+").to_netlink())[
        "IFA_BROADCAST"] == "10.1.2.255"
    assert attrs(VipSpec("10.1.2.3/24", ifindex=1, broadcast="-").to_netlink())[
        "IFA_BROADCAST"] == "10.1.2.0"
    assert attrs(VipSpec("10.1.2.3/30", ifindex=1, broadcast="+").to_netlink())[
        "IFA_BROADCAST"] == "10.1.2.3"


def test_brd_plus_needs_prefix_30_or_less():
    with pytest.raises(ValueError, match="30 or less"):
        VipSpec("10.1.2.3/31", ifindex=1, broadcast="+")
    with pytest.raises(ValueError, match="30 or less"):
        broadcast_for(ipaddress.ip_address("10.0.0.1"), 32, "-")


def test_label_scope_and_flags():
    spec = VipSpec("10.0.0.5/24", ifname="eth0", label="eth0:vip", scope="link")
    req = spec.to_netlink(2)
    assert attrs(req)["IFA_LABEL"] == "eth0:vip"
    assert req.scope == 253
    flags = VipSpec("fd00::5/64", ifindex=2, home=True, mngtmpaddr=True, noprefixroute=True,
                    autojoin=True).to_netlink()
    assert attrs(flags)["IFA_FLAGS"] == (IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR
                                         | IFA_F_NOPREFIXROUTE | IFA_F_MCAUTOJOIN)
    assert flags.flags == (IFA_F_NODAD | IFA_F_HOMEADDRESS) & 0xFF   # header holds the low byte


def test_peer_sets_ifa_address_and_prefix():
    spec = VipSpec("10.9.9.9", ifindex=4, peer="10.9.9.10/31")
    req = spec.to_netlink()
    assert req.prefixlen == 31
    assert attrs(req)["IFA_LOCAL"] == "10.9.9.9"
    assert attrs(req)["IFA_ADDRESS"] == "10.9.9.10"
    delete = spec.to_netlink_delete()
    assert dict(delete.attrs) == {"IFA_LOCAL": "10.9.9.9", "IFA_ADDRESS": "10.9.9.10"}
    assert delete.prefixlen == 31


def test_peer_without_prefix_keeps_the_given_prefix():
    """The config model carries the peer's prefix in prefixlen and the bare peer address."""
    req = VipSpec("10.9.9.9", prefixlen=30, ifindex=4, peer="10.9.9.10").to_netlink()
    assert req.prefixlen == 30 and attrs(req)["IFA_ADDRESS"] == "10.9.9.10"
    assert VipSpec("10.9.9.9/32", ifindex=4, peer="10.9.9.10/30").prefixlen == 30


def test_delete_request_has_only_the_identity():
    req = VipSpec("10.1.2.3/24", ifname="eth0", broadcast="+", label="eth0:x").to_netlink_delete(9)
    assert dict(req.attrs) == {"IFA_LOCAL": "10.1.2.3", "IFA_ADDRESS": "10.1.2.3"}
    assert (req.prefixlen, req.index, req.flags, req.scope) == (24, 9, 0, 0)


def test_proto_can_be_changed_or_left_out():
    assert attrs(VipSpec("10.0.0.1", ifindex=1).to_netlink(proto=18))["IFA_PROTO"] == 18
    assert "IFA_PROTO" not in attrs(VipSpec("10.0.0.1", ifindex=1).to_netlink(proto=None))
    with pytest.raises(ValueError, match="IFA_PROTO"):
        VipSpec("10.0.0.1", ifindex=1).to_netlink(proto=300)


def test_to_netlink_needs_an_ifindex():
    with pytest.raises(ValueError, match="resolve dev eth0"):
        VipSpec("10.0.0.1", ifname="eth0").to_netlink()


def test_normalised_fields_and_equality():
    a = VipSpec("FD00:0::50", ifname="eth0")
    b = VipSpec(ipaddress.ip_address("fd00::50"), ifname="eth0", prefixlen=128)
    assert a == b and hash(a) == hash(b)
    assert str(a) == "fd00::50/128 dev eth0"
    assert VipSpec("10.0.0.1/24", ifname="e").prefixlen == 24


@pytest.mark.parametrize("kwargs,message", [
    (dict(address="10.0.0.300", ifname="e"), "not an IP address"),
    (dict(address="10.0.0.1/33", ifname="e"), "prefix length"),
    (dict(address="10.0.0.1/x", ifname="e"), "not a number"),
    (dict(address="10.0.0.1/24", prefixlen=25, ifname="e"), "prefix given twice"),
    (dict(address="10.0.0.1"), "no interface"),
    (dict(address="10.0.0.1", ifname="a" * 16), "bad interface name"),
    (dict(address="10.0.0.1", ifindex=0), "ifindex"),
    (dict(address="10.0.0.1", ifname="e", scope="galaxy"), "unknown scope"),
    (dict(address="10.0.0.1", ifname="e", scope=256), "scope must be"),
    (dict(address="fd00::1", ifname="e", scope="link"), "scope is IPv4 only"),
    (dict(address="fd00::1", ifname="e", broadcast="+"), "brd is IPv4 only"),
    (dict(address="fd00::1", ifname="e", label="x"), "label is IPv4 only"),
    (dict(address="10.0.0.1", ifname="e", label="x" * 16), "label must be"),
    (dict(address="10.0.0.1", ifname="e", broadcast="fd00::1"), "not IPv4"),
    (dict(address="10.0.0.1", ifname="e", broadcast="nonsense"), "not an IP address"),
    (dict(address="10.0.0.1", ifname="e", peer="fd00::2"), "not IPv4"),
    (dict(address="10.0.0.1/24", ifname="e", peer="10.0.0.2/30"), "peer sets the prefix /30"),
    (dict(address="10.0.0.1", ifname="e", peer="10.0.0.2", broadcast="+"), "cannot be combined"),
    (dict(address="fd00::1", ifname="e", preferred_lft=-1), "preferred_lft"),
    (dict(address="fd00::1", ifname="e", preferred_lft="soon"), "preferred_lft"),
    (dict(address="fd00::1", ifname="e", nodad="yes"), "nodad must be"),
    (dict(address=42, ifname="e"), "IP address string"),
])
def test_bad_specs_give_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VipSpec(**kwargs)


def test_parse_scope_names_and_numbers():
    assert [parse_scope(s) for s in ("global", "site", "link", "host", "nowhere", "17", 200)] == \
        [0, 200, 253, 254, 255, 17, 200]
