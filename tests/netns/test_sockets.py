"""The VRRP socket layer (fastvrrp.daemon.sockets) on real sockets between namespaces.

The first tests need no privileges (argument checking).  The `netns` tests
open our sockets inside lab namespaces (fastvrrp.bench.netns.inside) and
send between two nodes over the lab's bridge; waits are on the receive
socket becoming readable (select) or on frames in a capture, never sleeps.
The codec used to build and parse is the reference twin, so these tests do
not depend on the state of the compiled one; the capture decoder
(fastvrrp.bench.vrrpview) uses neither.
"""

import errno
import json
import select
import socket
import time
from pathlib import Path

import pytest

from fastvrrp import proto
from fastvrrp.bench import netns
from fastvrrp.bench.vrrpview import AdvertError, decode_frame
from fastvrrp.daemon import sockets
from fastvrrp.daemon.sock_source import NoSourceAddress, source_address
from fastvrrp.host.netlink import Netlink
from fastvrrp.reference import packet as codec

from hostlab import call_in

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "keepalived-2.2.7"
GROUP4, GROUP6 = proto.VRRP_GROUP_IPV4, proto.VRRP_GROUP_IPV6


# -- helpers -----------------------------------------------------------------
def wait_packets(vsock, count=1, timeout=5.0):
    """Receive until `count` datagrams arrived on `vsock` (select, not sleep)."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        remaining = deadline - time.monotonic()
        readable, _, _ = select.select([vsock], [], [], max(remaining, 0))
        if not readable:
            raise AssertionError("%r: %d of %d datagram(s) within %ss (stats %s)"
                                 % (vsock, len(got), count, timeout, vsock.stats))
        got += sockets.recv_batch(vsock, 64)
    return got


def v3_ipv4(vrid, src, *, dst=None, ident=1, ttl=255, priority=200, addresses=("10.0.0.100",)):
    return codec.build_advert(3, vrid, priority, 100, list(addresses), src=src, dst=dst,
                              ip_header=True, ident=ident, ttl=ttl)


def v3_ipv6(vrid, src, *, dst=None, priority=200, addresses=("fe80::100", "fd00::100")):
    return codec.build_advert(3, vrid, priority, 100, list(addresses), family=6, src=src, dst=dst)


def igmp_groups(ns, kind="igmp"):
    """/proc/net/igmp{,6} of namespace `ns` as text (it lists joined groups per device)."""
    with netns.inside(ns):
        with open("/proc/thread-self/net/%s" % kind) as fh:
            return fh.read()


# -- no privileges needed ------------------------------------------------------
def test_next_ip_id_counts_from_1_wraps_and_never_gives_0():
    ident, seen = 0, []
    for _ in range(3):
        ident = sockets.next_ip_id(ident)
        seen.append(ident)
    assert seen == [1, 2, 3]
    assert sockets.next_ip_id(0xFFFE) == 0xFFFF
    assert sockets.next_ip_id(0xFFFF) == 1          # keepalived: ID 0 would be the kernel's
    for bad in (-1, 0x10000, "1", 1.0, True):
        with pytest.raises(ValueError, match="ident"):
            sockets.next_ip_id(bad)


@pytest.mark.parametrize("call, error, message", [
    (lambda: sockets.open_rx_v4("eth0", "10.0.0.1"), ValueError, "not a multicast address"),
    (lambda: sockets.open_rx_v4("eth0", "ff02::12"), ValueError, "not an IPv4 address"),
    (lambda: sockets.open_rx_v4("eth0", "nonsense"), ValueError, "not an IP address"),
    (lambda: sockets.open_rx_v4("eth0", GROUP4, source="10.0.0.1"), ValueError, "not both"),
    (lambda: sockets.open_rx_v4("eth0", None), ValueError, "group or a unicast source"),
    (lambda: sockets.open_rx_v4("eth0", None, source="224.0.0.18"), ValueError, "unicast address"),
    (lambda: sockets.open_rx_v6("eth0", GROUP4), ValueError, "not an IPv6 address"),
    (lambda: sockets.open_rx_v6("eth0", None, source="ff02::1"), ValueError, "unicast address"),
    (lambda: sockets.open_rx_v4("eth0", rcvbuf=-1), ValueError, "rcvbuf"),
    (lambda: sockets.open_rx_v4(None), TypeError, "name or an ifindex"),
    (lambda: sockets.open_rx_v4(0), ValueError, "positive"),
    (lambda: sockets.open_rx_v4("x" * 16), ValueError, "bad interface name"),
    (lambda: sockets.open_tx_v4("eth0", multicast="yes"), TypeError, "True or False"),
    (lambda: sockets.open_tx_v6("eth0", multicast=False, unicast_hops=0), ValueError,
     "unicast_hops"),
    (lambda: sockets.recv_batch(object(), 1), TypeError, "VrrpSocket"),
    (lambda: sockets.send_v4(object(), b""), TypeError, "VrrpSocket"),
])
def test_bad_arguments_raise_clear_errors_before_any_socket_is_made(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_an_unknown_interface_is_a_setup_error_naming_it():
    with pytest.raises(sockets.SocketSetupError, match="no interface 'fvnosuch0'") as info:
        sockets.open_rx_v4("fvnosuch0")
    assert info.value.errno == errno.ENODEV


# -- IPv4 ----------------------------------------------------------------------
@pytest.mark.netns
def test_ipv4_multicast_reaches_only_the_socket_of_its_interface(lab):
    """Two links per node (br0, br1): each receive socket gets its own interface's
    advert, with that ifindex, the sender's address, 224.0.0.18 and TTL 255; the
    sender does not hear itself (IP_MULTICAST_LOOP 0)."""
    links = lab.star(("a", "b"), links_per_node=2)
    (a0, a1), (b0, b1) = links["a"], links["b"]
    rx = {l.ifindex: call_in(b0.ns, sockets.open_rx_v4, l.ifname) for l in (b0, b1)}
    own = call_in(a1.ns, sockets.open_rx_v4, a1.ifindex)
    tx = {l.ifname: call_in(a0.ns, sockets.open_tx_v4, l.ifname) for l in (a0, a1)}
    try:
        assert sockets.send_v4(tx["eth0"], v3_ipv4(10, a0.ip4))
        assert sockets.send_v4(tx["eth1"], v3_ipv4(11, a1.ip4))
        for link, vrid in ((b0, 10), (b1, 11)):
            (pkt,) = wait_packets(rx[link.ifindex])
            sender = a0 if vrid == 10 else a1
            assert (pkt.ifindex, pkt.src, pkt.dst, pkt.hop_limit) == (
                link.ifindex, sender.ip4, GROUP4, 255)
            advert = codec.parse_ipv4(pkt.data)
            assert advert.ok, advert.reason_name
            assert (advert.vrid, advert.priority) == (vrid, 200)
        # Both adverts were delivered: anything else bound for these sockets is queued.
        assert [sockets.recv_batch(s, 8) for s in list(rx.values()) + [own]] == [[], [], []]
        assert b0.ifindex != b1.ifindex
    finally:
        for s in list(rx.values()) + [own] + list(tx.values()):
            s.close()


@pytest.mark.netns
def test_ipv4_unicast_and_multicast_sockets_split_the_traffic(star):
    lab, links = star
    a, b = links["a"], links["b"]
    mc = call_in(b.ns, sockets.open_rx_v4, b.ifname)
    uc = call_in(b.ns, sockets.open_rx_v4, b.ifname, None, source=b.ip4)
    tx_mc = call_in(a.ns, sockets.open_tx_v4, a.ifname)
    tx_uc = call_in(a.ns, sockets.open_tx_v4, a.ifname, multicast=False)
    try:
        assert sockets.send_v4(tx_uc, v3_ipv4(21, a.ip4, dst=b.ip4, ttl=64), ident=7)
        assert sockets.send_v4(tx_mc, v3_ipv4(20, a.ip4))
        (m,) = wait_packets(mc)
        (u,) = wait_packets(uc)
        assert (codec.parse_ipv4(m.data).vrid, m.dst) == (20, GROUP4)
        # unicast: keepalived's unicast_ttl goes out as written (no TTL check on receive)
        assert (u.dst, u.src, u.hop_limit, u.ifindex) == (b.ip4, a.ip4, 64, b.ifindex)
        advert = codec.parse_ipv4(u.data, check_ttl=False)
        assert advert.ok and advert.vrid == 21, advert
        assert u.data[4:6] == (7).to_bytes(2, "big")    # ident patched in
        assert (sockets.recv_batch(mc, 8), sockets.recv_batch(uc, 8)) == ([], [])
        with pytest.raises(ValueError, match="multicast destination"):
            sockets.send_v4(tx_uc, v3_ipv4(20, a.ip4))
        with pytest.raises(ValueError, match="unicast destination"):
            sockets.send_v4(tx_mc, v3_ipv4(21, a.ip4, dst=b.ip4))
    finally:
        for s in (mc, uc, tx_mc, tx_uc):
            s.close()


@pytest.mark.netns
def test_unicast_receive_is_bound_to_its_interface(lab):
    """Linux takes a packet for any local address on any interface: b's eth0
    address reached over eth1 must reach only the socket bound to eth1."""
    links = lab.star(("a", "b"), links_per_node=2)
    a1 = links["a"][1]
    b0, b1 = links["b"]
    on0 = call_in(b0.ns, sockets.open_rx_v4, b0.ifname, None, source=b0.ip4)
    on1 = call_in(b0.ns, sockets.open_rx_v4, b1.ifname, None, source=b0.ip4)
    tx = call_in(a1.ns, sockets.open_tx_v4, a1.ifname, multicast=False)
    try:
        assert sockets.send_v4(tx, v3_ipv4(22, a1.ip4, dst=b0.ip4))
        (pkt,) = wait_packets(on1)
        assert (pkt.ifindex, pkt.dst, pkt.src) == (b1.ifindex, b0.ip4, a1.ip4)
        assert sockets.recv_batch(on0, 8) == []
    finally:
        for s in (on0, on1, tx):
            s.close()


@pytest.mark.netns
def test_an_unconfigured_unicast_source_fails_like_keepalived(star):
    lab, links = star
    b = links["b"]
    with pytest.raises(sockets.SocketSetupError, match="not configured") as info:
        call_in(b.ns, sockets.open_rx_v4, b.ifname, None, source="10.0.0.99")
    assert info.value.errno == errno.EADDRNOTAVAIL


# -- IPv6 ----------------------------------------------------------------------
@pytest.mark.netns
def test_ipv6_multicast_comes_from_the_link_local_with_hop_limit_255(lab):
    links = lab.star(("a", "b"), links_per_node=2)
    (a0, a1), (b0, b1) = links["a"], links["b"]
    rx = {l.ifindex: call_in(b0.ns, sockets.open_rx_v6, l.ifindex) for l in (b0, b1)}
    own = call_in(a1.ns, sockets.open_rx_v6, a1.ifname)
    tx = {l.ifname: call_in(a0.ns, sockets.open_tx_v6, l.ifname) for l in (a0, a1)}
    try:
        assert sockets.send_v6(tx["eth0"], v3_ipv6(30, a0.ipv6_ll), a0.ipv6_ll)
        assert sockets.send_v6(tx["eth1"], v3_ipv6(31, a1.ipv6_ll), a1.ipv6_ll)
        for link, sender, vrid in ((b0, a0, 30), (b1, a1, 31)):
            (pkt,) = wait_packets(rx[link.ifindex])
            assert (pkt.ifindex, pkt.src, pkt.dst, pkt.hop_limit) == (
                link.ifindex, sender.ipv6_ll, GROUP6, 255)
            advert = codec.parse_ipv6(pkt.data, pkt.src, pkt.dst, pkt.hop_limit)
            assert advert.ok, advert.reason_name
            assert advert.vrid == vrid
        assert [sockets.recv_batch(s, 8) for s in list(rx.values()) + [own]] == [[], [], []]
    finally:
        for s in list(rx.values()) + [own] + list(tx.values()):
            s.close()


@pytest.mark.netns
def test_ipv6_unicast_with_a_per_packet_hop_limit(star):
    lab, links = star
    a, b = links["a"], links["b"]
    mc = call_in(b.ns, sockets.open_rx_v6, b.ifname)
    uc = call_in(b.ns, sockets.open_rx_v6, b.ifname, None, source=b.ip6)
    tx = call_in(a.ns, sockets.open_tx_v6, a.ifname, multicast=False)
    try:
        assert sockets.send_v6(tx, v3_ipv6(40, a.ip6, dst=b.ip6), a.ip6, b.ip6)
        assert sockets.send_v6(tx, v3_ipv6(41, a.ip6, dst=b.ip6), a.ip6, b.ip6, hop_limit=7)
        first, second = wait_packets(uc, 2)
        assert (first.src, first.dst, first.hop_limit) == (a.ip6, b.ip6, 255)
        assert second.hop_limit == 7
        for pkt, vrid in ((first, 40), (second, 41)):
            advert = codec.parse_ipv6(pkt.data, pkt.src, pkt.dst, pkt.hop_limit, False)
            assert advert.ok and advert.vrid == vrid, advert
        assert sockets.recv_batch(mc, 8) == []
    finally:
        for s in (mc, uc, tx):
            s.close()


@pytest.mark.netns
def test_an_oversized_datagram_is_counted_and_skipped(star):
    """5000 bytes is no VRRP message (at most 4088 over IPv6): the kernel
    fragments and reassembles it, recv_batch counts it truncated and goes on.

    Seen once in about 100 suite runs: the big datagram never showed up at
    the socket (cause not pinned down; a lost fragment would do it), so it is
    sent up to three times.  Every attempt must come back as no packet, and
    exactly one must be counted truncated."""
    lab, links = star
    a, b = links["a"], links["b"]
    rx = call_in(b.ns, sockets.open_rx_v6, b.ifname)
    tx = call_in(a.ns, sockets.open_tx_v6, a.ifname)
    try:
        big = bytearray(v3_ipv6(42, a.ipv6_ll)) + bytes(5000)
        for _attempt in range(3):
            assert sockets.send_v6(tx, big, a.ipv6_ll)
            select.select([rx], [], [], 3)
            assert sockets.recv_batch(rx, 8) == []
            if rx.stats.truncated:
                break
        assert rx.stats.truncated == 1 and rx.stats.received == 0
        assert sockets.send_v6(tx, v3_ipv6(43, a.ipv6_ll), a.ipv6_ll)
        (pkt,) = wait_packets(rx)
        assert codec.parse_ipv6(pkt.data, pkt.src, pkt.dst, pkt.hop_limit).vrid == 43
    finally:
        rx.close()
        tx.close()


@pytest.mark.netns
def test_wrong_use_of_a_socket_is_a_clear_error(star):
    lab, links = star
    a = links["a"]
    rx = call_in(a.ns, sockets.open_rx_v4, a.ifname)
    tx4 = call_in(a.ns, sockets.open_tx_v4, a.ifname)
    tx6 = call_in(a.ns, sockets.open_tx_v6, a.ifname)
    good = v3_ipv4(1, a.ip4)
    bad_length = bytearray(good)
    bad_length[3] += 1
    not_vrrp = bytearray(good)
    not_vrrp[9] = 17
    try:
        for call, message in [
                (lambda: sockets.send_v4(rx, good), "not an IPv4 send socket"),
                (lambda: sockets.send_v4(tx6, good), "not an IPv4 send socket"),
                (lambda: sockets.recv_batch(tx4, 1), "is a send socket"),
                (lambda: sockets.recv_batch(rx, 0), "max must be"),
                (lambda: sockets.send_v4(tx4, good[:19]), "not an IPv4 packet"),
                (lambda: sockets.send_v4(tx4, b"\x60" + good[1:]), "not an IPv4 packet"),
                (lambda: sockets.send_v4(tx4, bad_length), "Total Length"),
                (lambda: sockets.send_v4(tx4, not_vrrp), "protocol 17"),
                (lambda: sockets.send_v4(tx4, good, ident=0), "ident"),
                (lambda: sockets.send_v6(tx6, b"1234567", a.ipv6_ll), "not a VRRP message"),
                (lambda: sockets.send_v6(tx6, bytes(8), "10.0.0.1"), "not an IPv6 address"),
                (lambda: sockets.send_v6(tx6, bytes(8), "ff02::1"), "unicast address"),
                (lambda: sockets.send_v6(tx6, bytes(8), a.ipv6_ll, a.ip6), "unicast destination"),
                (lambda: sockets.send_v6(tx6, bytes(8), a.ipv6_ll, hop_limit=0), "hop_limit")]:
            with pytest.raises(ValueError, match=message):
                call()
        with pytest.raises(TypeError, match="bytes-like"):
            sockets.send_v4(tx4, "a string")
        assert tx4.stats.sent == tx6.stats.sent == 0
    finally:
        for s in (rx, tx4, tx6):
            s.close()
    with pytest.raises(ValueError, match="closed"):
        sockets.send_v4(tx4, good)


# -- what the capture on the bridge shows ---------------------------------------
def _vector(name):
    return json.loads((VECTORS / (name + ".json")).read_text())


@pytest.mark.netns
def test_capture_shows_keepalived_headers_and_the_recorded_bytes(lab):
    """Nodes at keepalived's recorded addresses (192.168.16.128 and .129): our
    IPv4 adverts carry TOS 0xc0, TTL 255, DF clear and IDs 1, 2, 3; keepalived
    2.2.7's own recorded packets pass through our sender byte for byte; IPv6
    adverts come from the link-local with hop limit 255 and traffic class 0xc0."""
    links = lab.star(("k", "p"), ipv4_base="192.168.16.127", ipv6_base="fd00::127")
    k, p = links["k"][0], links["p"][0]
    assert k.ip4 == "192.168.16.128"
    cap = lab.capture("sw", "br0")
    tx4 = call_in(k.ns, sockets.open_tx_v4, k.ifname)
    tx4u = call_in(k.ns, sockets.open_tx_v4, k.ifname, multicast=False)
    tx6 = call_in(k.ns, sockets.open_tx_v6, k.ifname)
    recorded = [_vector(n) for n in ("v2-ipv4-pass", "v3-ipv4", "v3-ipv4-unicast")]
    try:
        ident = 0
        for _ in range(3):
            ident = sockets.next_ip_id(ident)
            assert sockets.send_v4(tx4, v3_ipv4(50, k.ip4, ident=0xBEEF), ident=ident)
        for vec in recorded:
            out = tx4u if vec["unicast"] else tx4
            assert sockets.send_v4(out, bytes.fromhex(vec["ip_packet_hex"]))
        for _ in range(2):
            assert sockets.send_v6(tx6, v3_ipv6(51, k.ipv6_ll), k.ipv6_ll)
        frames = cap.wait_frames(8, timeout=10)
    finally:
        for s in (tx4, tx4u, tx6):
            s.close()
    decoded = []
    for frame in cap.stop():
        try:
            decoded.append(decode_frame(frame))
        except AdvertError:
            pass
    assert len(frames) >= 8
    ours4 = [d for d in decoded if d.family == "ipv4" and d.vrid == 50]
    assert [d.ip_id for d in ours4] == [1, 2, 3]
    for d in ours4:
        assert (d.tos_or_tclass, d.ttl_or_hlim, d.df, d.src, d.dst) == (
            0xC0, 255, False, k.ip4, GROUP4)
        assert d.checksum_form == "pseudo-header"
        assert (d.src_mac, d.dst_mac) == (k.mac, "01:00:5e:00:00:12")
    for vec in recorded:
        match = [d for d in decoded if d.ip_packet.hex() == vec["ip_packet_hex"]]
        assert len(match) == 1, "%s not on the wire unchanged" % vec["name"]
    ours6 = [d for d in decoded if d.family == "ipv6"]
    assert len(ours6) == 2
    for d in ours6:
        assert (d.tos_or_tclass, d.ttl_or_hlim, d.src, d.dst) == (0xC0, 255, k.ipv6_ll, GROUP6)
        assert d.checksum_form == "ipv6-pseudo-header"
        assert d.dst_mac == "33:33:00:00:00:12"


# -- lifecycle, buffers, errors -------------------------------------------------
@pytest.mark.netns
def test_membership_by_ifindex_is_left_on_close(star):
    lab, links = star
    b = links["b"]
    group4 = "120000E0"                                   # 224.0.0.18, as /proc/net/igmp prints it
    group6 = "ff020000000000000000000000000012"
    assert group4 not in igmp_groups(b.ns)
    rx4 = call_in(b.ns, sockets.open_rx_v4, b.ifname)
    rx6 = call_in(b.ns, sockets.open_rx_v6, b.ifname)
    joined4 = igmp_groups(b.ns)
    assert group4 in joined4.split("%d\t%s" % (b.ifindex, b.ifname))[1]
    assert any(line.split()[1] == b.ifname and line.split()[2] == group6
               for line in igmp_groups(b.ns, "igmp6").splitlines())
    rx4.close()
    rx6.close()
    rx4.close()                                           # twice is fine
    assert group4 not in igmp_groups(b.ns)
    assert group6 not in igmp_groups(b.ns, "igmp6")
    assert rx4.closed and rx4.fileno() == -1
    with pytest.raises(ValueError, match="closed"):
        sockets.recv_batch(rx4, 1)


@pytest.mark.netns
def test_receive_buffer_is_forced_past_rmem_max(star):
    lab, links = star
    b = links["b"]
    with open("/proc/sys/net/core/rmem_max") as fh:
        rmem_max = int(fh.read())
    rx = call_in(b.ns, sockets.open_rx_v4, b.ifname)
    small = call_in(b.ns, sockets.open_rx_v6, b.ifname, rcvbuf=0)
    try:
        assert rx.rcvbuf == rx.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        assert rx.rcvbuf >= 2 * sockets.DEFAULT_RCVBUF > rmem_max
        assert small.rcvbuf < rx.rcvbuf                   # 0: the kernel default
    finally:
        rx.close()
        small.close()


@pytest.mark.netns
def test_send_failures_are_counted_not_raised(star):
    """A full send buffer (a slow qdisc holds the packets) is EAGAIN, counted
    and dropped at once; a downed link is a counted send error."""
    lab, links = star
    a = links["a"]
    ipr = lab.iproute(a.node)
    tx = call_in(a.ns, sockets.open_tx_v4, a.ifname)
    try:
        ipr.tc("add", "tbf", index=a.ifindex, handle="1:", rate="8kbit", burst=1600,
               latency="10s")
        tx.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)   # the kernel's minimum
        packet = v3_ipv4(60, a.ip4)
        results = [sockets.send_v4(tx, packet) for _ in range(200)]
        assert results.count(False) == tx.stats.would_block > 0
        assert tx.stats.sent == results.count(True)
        assert tx.stats.last_errno == errno.EAGAIN and tx.stats.send_errors == 0
        ipr.tc("del", index=a.ifindex, handle="1:", root=True)
        ipr.link("set", index=a.ifindex, state="down")
        assert sockets.send_v4(tx, packet) is False
        assert tx.stats.send_errors == 1
        assert tx.stats.last_errno in (errno.ENETDOWN, errno.ENETUNREACH, errno.ENXIO)
    finally:
        tx.close()


@pytest.mark.netns
def test_receive_socket_of_a_vanished_interface_reports_nothing_and_closes(star):
    lab, links = star
    b = links["b"]
    rx = call_in(b.ns, sockets.open_rx_v4, b.ifname)
    lab.iproute(b.node).link("del", index=b.ifindex)
    assert sockets.recv_batch(rx, 4) == []
    rx.close()                                            # leaving the group fails quietly
    assert rx.closed


# -- the pool and the source address --------------------------------------------
@pytest.mark.netns
def test_pool_shares_one_socket_per_key_and_closes_with_the_last_user(star):
    lab, links = star
    b = links["b"]
    pool = sockets.SocketPool()
    with netns.inside(b.ns):
        r1 = pool.rx(4, b.ifname)
        r2 = pool.rx(4, b.ifindex, group=GROUP4)          # same key by index
        ru = pool.rx(4, b.ifname, source=b.ip4)
        r6 = pool.rx(6, b.ifname)
        t1 = pool.tx(4, b.ifname)
        tu = pool.tx(4, b.ifname, multicast=False)
        t6 = pool.tx(6, b.ifname, multicast=False, unicast_hops=64)
    try:
        assert r1 is r2 and pool.users(r1) == 2
        assert len({id(s) for s in (r1, ru, r6, t1, tu, t6)}) == 6 == len(pool)
        assert (ru.mode, ru.source, t6.unicast_hops) == ("unicast", b.ip4, 64)
        pool.release(r1)
        assert not r1.closed and pool.users(r1) == 1
        pool.release(r2)
        assert r1.closed and pool.users(r1) == 0
        with pytest.raises(ValueError, match="not a socket of this pool"):
            pool.release(r1)
    finally:
        pool.close()
    assert all(s.closed for s in (ru, r6, t1, tu, t6)) and len(pool) == 0


@pytest.mark.netns
def test_source_address_is_the_primary_ipv4_or_the_link_local(star):
    import asyncio
    lab, links = star
    a = links["a"]

    async def ask():
        async with Netlink(netns=a.ns) as nl:
            out = [await source_address(nl, 4, a.ifindex),
                   await source_address(nl, 6, a.ifindex),
                   await source_address(nl, 4, a.ifindex, configured="10.0.0.77")]
            with pytest.raises(NoSourceAddress, match="no IPv4 address for interface eth0"):
                await source_address(nl, 4, a.ifindex, exclude=[a.ip4], ifname="eth0")
            with pytest.raises(ValueError, match="not IPv6"):
                await source_address(nl, 6, a.ifindex, configured="10.0.0.77")
            return out

    assert asyncio.run(ask()) == [a.ip4, a.ipv6_ll, "10.0.0.77"]
