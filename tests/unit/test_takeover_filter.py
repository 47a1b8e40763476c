"""Issue 6 takeover: our own VIPs' address notifications are dropped from the raw
netlink datagrams before pyroute2 decodes them (host/events.strip_addr_proto)."""

import socket

import pytest
from pyroute2.netlink.rtnl import RTM_NEWADDR, RTM_NEWLINK
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from fastvrrp.host.addrspec import IFAPROT_FASTVRRP
from fastvrrp.host.events import (AddrEvent, LinkEvent, NetlinkEvents, addr_proto, decode,
                                  strip_addr_proto)
from nlmsg import encoded


def addr(address, proto=None, label=None, msg_type=RTM_NEWADDR):
    attrs = [["IFA_ADDRESS", address], ["IFA_LOCAL", address]]
    if label is not None:
        attrs.append(["IFA_LABEL", label])      # odd length: padding before IFA_PROTO
    if proto is not None:
        attrs.append(["IFA_PROTO", proto])
    return encoded(ifaddrmsg, msg_type,
                   dict(family=socket.AF_INET, prefixlen=24, flags=0, scope=0, index=7), attrs)


def link(name):
    return encoded(ifinfmsg, RTM_NEWLINK, dict(family=0, index=3, flags=0, change=0),
                   [["IFLA_IFNAME", name]])


def parsed(data):
    """What pyroute2 makes of a datagram -> decoded events."""
    return [decode(m) for m in MarshalRtnl().parse(data)]


def test_our_addresses_go_the_others_stay_in_order():
    data = (addr("10.0.0.1", IFAPROT_FASTVRRP) + link("eth0") + addr("10.0.0.2")
            + addr("10.0.0.3", IFAPROT_FASTVRRP, label="eth0:a") + addr("10.0.0.4", 2)
            + addr("10.0.0.5", IFAPROT_FASTVRRP))
    events = parsed(strip_addr_proto(data, IFAPROT_FASTVRRP))
    assert [type(e) for e in events] == [LinkEvent, AddrEvent, AddrEvent]
    assert events[0].link.ifname == "eth0"
    assert [e.addr.address for e in events[1:]] == ["10.0.0.2", "10.0.0.4"]
    assert events[2].addr.proto == 2


def test_a_datagram_of_only_ours_becomes_empty():
    data = addr("10.0.0.1", IFAPROT_FASTVRRP) + addr("10.0.0.3", IFAPROT_FASTVRRP, label="x")
    assert strip_addr_proto(data, IFAPROT_FASTVRRP) == b""


def test_nothing_to_drop_returns_the_same_bytes():
    data = addr("10.0.0.2") + link("eth1") + addr("10.0.0.4", 3)
    assert strip_addr_proto(data, IFAPROT_FASTVRRP) is data


def test_addr_proto_reads_the_attribute():
    data = addr("10.0.0.3", 200, label="eth0:abc")
    assert addr_proto(data, 0, len(data)) == 200
    plain = addr("10.0.0.3")
    assert addr_proto(plain, 0, len(plain)) is None


@pytest.mark.parametrize("cut", [1, 7, 15, 17, 30])
def test_truncated_or_garbled_datagrams_are_kept_for_pyroute2(cut):
    ours = addr("10.0.0.1", IFAPROT_FASTVRRP)
    other = addr("10.0.0.2")
    data = other + ours[:cut]                # a trailing piece the walk cannot follow
    out = strip_addr_proto(data, IFAPROT_FASTVRRP)
    assert out.startswith(other) and len(out) == len(data)
    # a header that claims more than the datagram holds ends the walk
    bad = bytearray(ours)
    bad[0:4] = (len(ours) + 100).to_bytes(4, "little")
    assert strip_addr_proto(bytes(bad), IFAPROT_FASTVRRP) == bytes(bad)


def test_an_attribute_longer_than_its_message_is_no_proto():
    data = bytearray(addr("10.0.0.1", IFAPROT_FASTVRRP))
    # the first rtattr (after nlmsghdr 16 + ifaddrmsg 8) claims 200 bytes
    data[24:26] = (200).to_bytes(2, "little")
    assert addr_proto(bytes(data), 0, len(data)) is None
    assert strip_addr_proto(bytes(data), IFAPROT_FASTVRRP) == bytes(data)


@pytest.mark.parametrize("bad", [0, 256, -1, True, "112", 1.5])
def test_skip_proto_is_checked(bad):
    with pytest.raises(ValueError, match="skip_proto"):
        NetlinkEvents(skip_proto=bad)
