"""RouteSpec -> RTM_NEWROUTE / RTM_DELROUTE requests (keepalived 2.2.7 netlink_route).

Requests are also encoded to bytes and decoded again with pyroute2, so what
the kernel would receive is checked, not only our tuples.
"""

import ipaddress
import socket

import pytest
from pyroute2.netlink import NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL

from fastvrrp.host.routes import (RTPROT_KEEPALIVED, Nexthop, RouteMsg, RouteSpec, parse_dsfield,
                                  parse_realms)


def wire(req):
    """Encode the request's message and decode the bytes again."""
    msg = req.encode()
    msg.encode()
    back = RouteMsg(msg.data)
    back.decode()
    return back


def gateway(hop):
    """A nexthop's RTA_GATEWAY as text.  pyroute2 decodes a nested 'target'
    attribute to text or leaves it raw depending on which message classes it
    compiled earlier in the process, so the raw form is decoded here."""
    value = dict(hop["attrs"])["RTA_GATEWAY"]
    if isinstance(value, (bytes, bytearray)):
        import socket
        # raw rtattr: 2-byte length, 2-byte type, then the address
        return socket.inet_ntop(socket.AF_INET if len(value) == 8 else socket.AF_INET6, bytes(value[4:]))
    return value


def metrics_of(msg):
    metrics = msg.get_attr("RTA_METRICS")
    return dict(metrics["attrs"]) if metrics else {}


def test_keepalived_defaults_on_add_and_delete():
    spec = RouteSpec("192.168.50.0/24", via="10.0.0.2", dev="eth0")
    add = spec.to_netlink({"eth0": 7})
    assert (add.family, add.dst_len, add.table, add.proto) == (socket.AF_INET, 24, 254, 18)
    assert add.scope == 0 and add.type == 1                  # universe, unicast
    assert add.attr("RTA_GATEWAY") == "10.0.0.2" and add.attr("RTA_OIF") == 7
    assert add.attr("RTA_PRIORITY") is None and add.attr("RTA_TABLE") is None
    flags = add.add_flags()
    assert flags & NLM_F_CREATE and not flags & (NLM_F_EXCL | NLM_F_APPEND)   # "prepend"
    delete = spec.to_netlink_delete({"eth0": 7})
    assert delete.scope == 255 and delete.type == 0          # any scope, any type
    assert delete.proto == RTPROT_KEEPALIVED                 # only keepalived-protocol routes
    assert delete.attr("RTA_GATEWAY") == "10.0.0.2"
    back = wire(add)
    assert back.get_attr("RTA_DST") == "192.168.50.0" and back["proto"] == 18


def test_explicit_type_and_scope_are_matched_on_delete():
    spec = RouteSpec("10.9.0.0/16", type="blackhole", scope="host", table="local")
    delete = spec.to_netlink_delete()
    assert (delete.type, delete.scope, delete.table) == (6, 254, 255)
    assert spec.to_netlink().type == 6


def test_operations_map_to_netlink_flags():
    assert RouteSpec("10.1.0.0/16", dev=3, operation="add").to_netlink().add_flags() & NLM_F_EXCL
    append = RouteSpec("10.1.0.0/16", dev=3, operation="append").to_netlink().add_flags()
    assert append & NLM_F_APPEND and not append & NLM_F_EXCL
    with pytest.raises(ValueError, match="operation"):
        RouteSpec("10.1.0.0/16", operation="replace")


def test_default_route_and_family_inference():
    v4 = RouteSpec("default", via="10.0.0.1")
    assert v4.to == ipaddress.ip_network("0.0.0.0/0") and v4.family == 4
    v6 = RouteSpec("default", via="fd00::1")
    assert v6.to == ipaddress.ip_network("::/0") and v6.family == 6
    assert v6.to_netlink().family == socket.AF_INET6
    assert RouteSpec("default", type="unreachable", family=6).to.version == 6
    assert RouteSpec("10.0.0.5", dev=1).to.prefixlen == 32       # a host route
    assert RouteSpec("10.0.0.5/24", dev=1).to == ipaddress.ip_network("10.0.0.0/24")
    assert str(RouteSpec("default", via="10.0.0.1")).startswith("default via 10.0.0.1")


def test_large_tables_go_in_rta_table():
    req = RouteSpec("10.2.0.0/16", dev=2, table=1000).to_netlink()
    assert req.table == 0 and req.attr("RTA_TABLE") == 1000
    assert wire(req).get_attr("RTA_TABLE") == 1000
    assert RouteSpec("10.2.0.0/16", dev=2, table="main").table == 254


def test_every_scalar_option_reaches_the_request():
    spec = RouteSpec("10.3.0.0/16", src="10.0.0.1", via="10.0.0.2", dev="eth0", metric=42,
                     protocol="static", tos="0x10", realms="3/4", onlink=True, scope="link")
    req = spec.to_netlink({"eth0": 4})
    back = wire(req)
    assert back.get_attr("RTA_PREFSRC") == "10.0.0.1"
    assert back.get_attr("RTA_PRIORITY") == 42
    assert back.get_attr("RTA_FLOW") == (3 << 16) | 4
    assert back["proto"] == 4 and back["tos"] == 0x10 and back["scope"] == 253
    assert back["flags"] & 4                                 # RTNH_F_ONLINK


def test_ipv6_only_options():
    spec = RouteSpec("fd55::/64", via="fd00::2", dev=5, from_="fd00:1::/48", pref="high",
                     expires=300)
    add, delete = spec.to_netlink(), spec.to_netlink_delete()
    back = wire(add)
    assert back.get_attr("RTA_SRC") == "fd00:1::" and back["src_len"] == 48
    assert back.get_attr("RTA_PREF") == 1
    assert back.get_attr("RTA_EXPIRES") == 300
    assert delete.attr("RTA_EXPIRES") is None                # the kernel may have expired it
    for bad in ({"from_": "fd00::/64", "to": "10.0.0.0/8"}, {"pref": "low", "to": "10.0.0.0/8"},
                {"expires": 5, "to": "10.0.0.0/8"}, {"tos": 4, "to": "fd00::/64"},
                {"realms": 1, "to": "fd00::/64"}):
        with pytest.raises(ValueError):
            RouteSpec(**bad)


def test_metrics_units_and_locks():
    spec = RouteSpec("10.4.0.0/16", dev=1, mtu=1400, advmss=1360, window=65535, rtt=100,
                     rttvar=50, rto_min=20, ssthresh=10, cwnd=12, reordering=3, hoplimit=60,
                     initcwnd=20, initrwnd=30, quickack=1, fastopen_no_cookie=1,
                     features={"ecn"}, congctl="cubic", lock={"mtu", "rtt", "congctl"})
    got = metrics_of(wire(spec.to_netlink()))
    assert got["RTAX_MTU"] == 1400 and got["RTAX_ADVMSS"] == 1360
    assert got["RTAX_RTT"] == 800 and got["RTAX_RTTVAR"] == 200 and got["RTAX_RTO_MIN"] == 20
    assert got["RTAX_HOPLIMIT"] == 60 and got["RTAX_QUICKACK"] == 1
    assert got["RTAX_FASTOPEN_NO_COOKIE"] == 1 and got["RTAX_FEATURES"] == 1
    assert got["RTAX_CC_ALGO"] == "cubic"
    assert got["RTAX_LOCK"] == (1 << 2) | (1 << 4) | (1 << 16)
    assert "RTA_METRICS" not in dict(RouteSpec("10.4.0.0/16", dev=1).to_netlink().attrs)


def test_bad_metrics_are_refused():
    for bad in ({"hoplimit": 256}, {"quickack": 2}, {"mtu": -1}, {"rtt": 2 ** 31},
                {"features": {"sack"}}, {"lock": {"mtu"}}, {"lock": {"bogus"}, "mtu": 1},
                {"congctl": ""}, {"mtu": True}):
        with pytest.raises(ValueError):
            RouteSpec("10.4.0.0/16", dev=1, **bad)


def test_multipath_nexthops():
    spec = RouteSpec("10.5.0.0/16", nexthops=(
        Nexthop("10.0.0.2", dev="eth0", weight=3, onlink=True),
        Nexthop("10.0.0.3", weight=1, realms=9)))
    hops = wire(spec.to_netlink({"eth0": 8})).get_attr("RTA_MULTIPATH")
    assert [h["hops"] for h in hops] == [2, 0]               # rtnh_hops = weight - 1
    assert [h["oif"] for h in hops] == [8, 0]
    assert hops[0]["flags"] == 4
    assert [gateway(h) for h in hops] == ["10.0.0.2", "10.0.0.3"]
    assert dict(hops[1]["attrs"])["RTA_FLOW"] == 9
    assert spec.ifnames() == ("eth0",)
    # a route-level dev goes to the nexthops without their own (no RTA_OIF beside them)
    shared = RouteSpec("10.5.0.0/16", dev="eth1", nexthops=(
        Nexthop("10.0.0.2"), Nexthop("10.0.0.3", dev="eth0"))).to_netlink({"eth0": 8, "eth1": 9})
    assert shared.attr("RTA_OIF") is None
    assert [h.oif for h in shared.attr("RTA_MULTIPATH")] == [9, 8]
    for bad in ({"weight": 0}, {"weight": 257}):
        with pytest.raises(ValueError, match="weight"):
            Nexthop("10.0.0.2", **bad)
    with pytest.raises(ValueError, match="via and/or dev"):
        Nexthop()
    with pytest.raises(ValueError, match="either via or nexthops"):
        RouteSpec("10.5.0.0/16", via="10.0.0.1", nexthops=(Nexthop("10.0.0.2"),))
    with pytest.raises(ValueError, match="mixed|IPv4 and IPv6"):
        RouteSpec("10.5.0.0/16", nexthops=(Nexthop("fd00::2"),))


def test_error_route_types_take_no_nexthop():
    for rtype in ("blackhole", "unreachable", "prohibit", "throw"):
        assert RouteSpec("10.6.0.0/16", type=rtype).to_netlink().attr("RTA_OIF") is None
        with pytest.raises(ValueError, match="takes no via"):
            RouteSpec("10.6.0.0/16", type=rtype, dev="eth0")
    for bad in ("nat", "xresolve", "bogus"):
        with pytest.raises(ValueError, match="route type"):
            RouteSpec("10.6.0.0/16", type=bad)


@pytest.mark.parametrize("kwargs, message", [
    ({}, "no destination"),
    ({"to": "10.0.0.0/33"}, "not an address"),
    ({"to": "10.0.0.0/8", "via": "fd00::1"}, "cannot be"),
    ({"to": "10.0.0.0/8", "src": "nonsense"}, "not an IP address"),
    ({"to": "10.0.0.0/8", "dev": "a/b"}, "bad interface name"),
    ({"to": "10.0.0.0/8", "dev": "x" * 16}, "bad interface name"),
    ({"to": "10.0.0.0/8", "dev": 0}, "ifindex"),
    ({"to": "10.0.0.0/8", "table": "nosuch"}, "unknown .*table"),
    ({"to": "10.0.0.0/8", "table": 0}, "table 0"),
    ({"to": "10.0.0.0/8", "protocol": 256}, "protocol"),
    ({"to": "10.0.0.0/8", "scope": "galaxy"}, "scope"),
    ({"to": "10.0.0.0/8", "metric": 2 ** 32}, "metric"),
    ({"to": "10.0.0.0/8", "tos": 300}, "tos"),
    ({"to": "10.0.0.0/8", "realms": "a/b"}, "realms"),
    ({"to": "10.0.0.0/8", "onlink": "yes"}, "onlink"),
    ({"to": "10.0.0.0/8", "family": 5}, "family"),
    ({"to": "10.0.0.0/8", "family": 6}, "cannot be"),
    ({"to": "fd00::/64", "pref": "urgent"}, "pref"),
    ({"to": "10.0.0.0/8", "nexthops": ("10.0.0.1",)}, "Nexthop objects"),
])
def test_bad_specs_say_why(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RouteSpec(**kwargs)


def test_a_named_dev_must_be_resolved():
    spec = RouteSpec("10.7.0.0/16", dev="eth9")
    with pytest.raises(ValueError, match="resolve"):
        spec.to_netlink()
    with pytest.raises(ValueError, match="resolve"):
        spec.to_netlink({"eth9": None})
    assert spec.to_netlink({"eth9": 12}).attr("RTA_OIF") == 12


def test_specs_compare_by_value():
    a = RouteSpec("10.8.0.0/16", via="10.0.0.1", lock={"mtu"}, mtu=1000)
    b = RouteSpec(ipaddress.ip_network("10.8.0.0/16"), via=ipaddress.ip_address("10.0.0.1"),
                  lock=frozenset({"mtu"}), mtu="1000")
    assert a == b and hash(a) == hash(b)
    assert a != RouteSpec("10.8.0.0/16", via="10.0.0.1", mtu=1000)


def test_value_helpers():
    assert parse_realms("7") == 7 and parse_realms("1/2") == 0x10002 and parse_realms(5) == 5
    with pytest.raises(ValueError):
        parse_realms("70000")
    assert parse_dsfield("0x10") == 16 and parse_dsfield("16") == 16 and parse_dsfield(184) == 184
    for bad in ("0x100", "b8", "AF11", -1):
        with pytest.raises(ValueError):
            parse_dsfield(bad)
