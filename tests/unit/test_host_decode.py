"""Netlink messages -> LinkInfo / AddrInfo / events, from real encoded bytes."""

import socket

from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_NEWLINK, RTM_NEWROUTE
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from fastvrrp.host.addrspec import IFA_F_NODAD, IFA_F_SECONDARY, IFA_F_TENTATIVE, VipSpec
from fastvrrp.host.events import AddrEvent, LinkEvent, decode
from fastvrrp.host.objects import IFF_NOARP, IFF_RUNNING, IFF_UP, AddrInfo, LinkInfo
from nlmsg import roundtrip


def addr_msg(msg_type=RTM_DELADDR, **over):
    fields = dict(family=socket.AF_INET, prefixlen=24, flags=0, scope=0, index=5)
    attrs = [["IFA_ADDRESS", "10.0.0.9"], ["IFA_LOCAL", "10.0.0.9"], ["IFA_LABEL", "eth0:v"],
             ["IFA_BROADCAST", "10.0.0.255"], ["IFA_FLAGS", 0x80 | IFA_F_SECONDARY],
             ["IFA_PROTO", 112],
             ["IFA_CACHEINFO", {"ifa_preferred": 7, "ifa_valid": 9, "cstamp": 0, "tstamp": 0}]]
    fields.update(over)
    return roundtrip(ifaddrmsg, msg_type, fields, attrs)


def test_addrinfo_from_an_ipv4_message():
    info = AddrInfo.from_msg(addr_msg())
    assert info == AddrInfo(family=socket.AF_INET, index=5, address="10.0.0.9", prefixlen=24,
                            scope=0, flags=0x80 | IFA_F_SECONDARY, peer=None,
                            broadcast="10.0.0.255", label="eth0:v", proto=112, preferred=7,
                            valid=9)
    assert info.secondary and info.usable and info.version == 4


def test_addrinfo_peer_and_ipv6_without_local():
    peer = roundtrip(ifaddrmsg, RTM_DELADDR,
                     dict(family=socket.AF_INET, prefixlen=32, flags=0, scope=0, index=2),
                     [["IFA_ADDRESS", "10.9.9.10"], ["IFA_LOCAL", "10.9.9.9"]])
    info = AddrInfo.from_msg(peer)
    assert (info.address, info.peer) == ("10.9.9.9", "10.9.9.10")
    assert dict(info.delete_request().attrs) == {"IFA_LOCAL": "10.9.9.9", "IFA_ADDRESS": "10.9.9.10"}
    v6 = roundtrip(ifaddrmsg, RTM_DELADDR,
                   dict(family=socket.AF_INET6, prefixlen=64, flags=IFA_F_TENTATIVE, scope=253,
                        index=2),
                   [["IFA_ADDRESS", "fe80::1"]])
    info6 = AddrInfo.from_msg(v6)
    assert (info6.address, info6.peer, info6.proto, info6.flags) == \
        ("fe80::1", None, 0, IFA_F_TENTATIVE)
    assert not info6.usable            # DAD still running


def test_linkinfo_from_a_message():
    msg = roundtrip(ifinfmsg, RTM_NEWLINK,
                    dict(family=0, ifi_type=1, index=12, flags=IFF_UP | IFF_RUNNING | IFF_NOARP,
                         change=0),
                    [["IFLA_IFNAME", "eth0.1"], ["IFLA_ADDRESS", "02:AA:bb:cc:dd:ee"],
                     ["IFLA_OPERSTATE", "UP"], ["IFLA_CARRIER", 1], ["IFLA_MTU", 1400],
                     ["IFLA_LINK", 3],
                     ["IFLA_LINKINFO", {"attrs": [["IFLA_INFO_KIND", "macvlan"]]}]])
    link = LinkInfo.from_msg(msg)
    assert (link.index, link.ifname, link.mac, link.operstate, link.carrier, link.mtu,
            link.kind, link.link) == (12, "eth0.1", "02:aa:bb:cc:dd:ee", "UP", True, 1400,
                                      "macvlan", 3)
    assert link.up and link.running and link.noarp


def test_link_down_without_carrier_attribute():
    msg = roundtrip(ifinfmsg, RTM_NEWLINK,
                    dict(family=0, ifi_type=1, index=4, flags=0, change=0),
                    [["IFLA_IFNAME", "veth9"]])
    link = LinkInfo.from_msg(msg)
    assert not link.up and not link.running and not link.carrier
    assert link.operstate == "UNKNOWN" and link.mac == ""


def test_decode_events_by_message_type():
    event = decode(addr_msg(RTM_DELADDR))
    assert isinstance(event, AddrEvent) and event.kind == "del"
    assert event.addr.address == "10.0.0.9"
    link = roundtrip(ifinfmsg, RTM_NEWLINK, dict(family=0, ifi_type=1, index=4, flags=1, change=0),
                     [["IFLA_IFNAME", "x"]])
    assert decode(link) == LinkEvent("new", LinkInfo.from_msg(link))
    other = addr_msg(RTM_NEWROUTE)
    assert decode(other) is None


def test_vip_request_matches_what_a_dump_would_report():
    """The delete built from a dumped address equals the spec's own delete."""
    spec = VipSpec("fd00::50", ifindex=5)
    dumped = roundtrip(ifaddrmsg, RTM_DELADDR,
                       dict(family=socket.AF_INET6, prefixlen=128, flags=IFA_F_NODAD, scope=0,
                            index=5),
                       [["IFA_ADDRESS", "fd00::50"], ["IFA_PROTO", 112]])
    assert AddrInfo.from_msg(dumped).delete_request() == spec.to_netlink_delete()
