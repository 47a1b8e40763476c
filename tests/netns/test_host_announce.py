"""GARP and unsolicited NA on a real veth: the frames and their effect on a peer.

Node "a" adds VIPs and announces them; node "b" (same bridge) captures with a
raw AF_PACKET socket and watches its neighbour table over netlink.  b's
entries for the VIPs are seeded with another MAC (the old master's), as on a
failover: the announcements must move them to a's MAC (RFC 5798 §6.4.1,
§6.4.2; reference §3.13).
"""

import asyncio
import ipaddress
import socket
import struct

import pytest
import uvloop
from pyroute2.netlink.rtnl import RTM_NEWNEIGH, RTMGRP_NEIGH

from fastvrrp.bench import netns
from fastvrrp.host.addrspec import VipSpec
from fastvrrp.host.announce import Announcer, RoundResult
from fastvrrp.host.netlink import Netlink
from fastvrrp.host.nlsocket import IPRoute
from fastvrrp.host.vips import VipSet

pytestmark = pytest.mark.netns

ETH_P_ALL = 0x0003
NUD_STALE = 0x04
OLD_MAC = "02:00:5e:99:99:99"
VIP4, VIP4B, VIP6 = "10.0.0.50", "10.0.0.51", "fd00::50"
TIMEOUT = 5.0


def mac_bytes(text):
    return bytes(int(p, 16) for p in text.split(":"))


def icmp6_sum_ok(src, dst, icmp):
    """RFC 4443 §2.3: the one's-complement sum over pseudo-header + message is 0xffff."""
    data = src + dst + struct.pack("!I3xB", len(icmp), 58) + icmp
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def parse(frame, mac):
    """('garp', vip) / ('na', vip, router) for announcements from `mac`, else None."""
    if frame[6:12] != mac:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == 0x0806:
        assert frame[0:6] == b"\xff" * 6                                    # Ethernet broadcast
        htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", frame, 14)
        assert (htype, ptype, hlen, plen) == (1, 0x0800, 6, 4)
        assert op == 1                                                      # ARP REQUEST
        sha, spa, tha, tpa = frame[22:28], frame[28:32], frame[32:38], frame[38:42]
        assert sha == mac
        assert tha == b"\xff" * 6                                           # not zeros
        assert spa == tpa                                                   # sender = target = VIP
        return ("garp", str(ipaddress.IPv4Address(spa)))
    if ethertype == 0x86DD and frame[20] == 58 and frame[54] == 136:
        assert frame[0:6] == bytes.fromhex("333300000001")
        ver_flow, plen, nxt, hops = struct.unpack_from("!IHBB", frame, 14)
        assert ver_flow >> 28 == 6 and hops == 255                           # hop limit 255
        src, dst = frame[22:38], frame[38:54]
        assert dst == ipaddress.IPv6Address("ff02::1").packed
        icmp = frame[54:54 + plen]
        assert icmp6_sum_ok(src, dst, icmp)                                 # valid checksum
        flags = icmp[4]
        assert flags & 0x20 and not flags & 0x40                            # Override, not Solicited
        target = icmp[8:24]
        assert target == src
        assert icmp[24:26] == b"\x02\x01" and icmp[26:32] == mac            # target LL = our MAC
        return ("na", str(ipaddress.IPv6Address(target)), bool(flags & 0x80))
    return None


class Frames:
    """Announcements from one MAC, in arrival order, off a raw capture socket."""

    def __init__(self, sock, mac):
        self.sock, self.mac = sock, mac_bytes(mac)

    async def next(self):
        loop = asyncio.get_running_loop()
        while True:
            frame = await asyncio.wait_for(loop.sock_recv(self.sock, 4096), TIMEOUT)
            got = parse(frame, self.mac)
            if got is not None:
                return got


async def wait_neighbours(peer, want):
    """Await RTM_NEWNEIGH on the peer until each address in `want` maps to its MAC."""
    left = dict(want)

    async def watch():
        while left:
            async for msg in peer.get():
                if msg["header"]["type"] != RTM_NEWNEIGH:
                    continue
                dst, lladdr = msg.get("NDA_DST"), msg.get("NDA_LLADDR")
                if dst in left and lladdr == left[dst]:
                    del left[dst]

    await asyncio.wait_for(watch(), TIMEOUT)


def test_garp_and_na_frames_neighbour_learning_router_flag_noarp(star):
    lab, links = star
    a, b = links["a"], links["b"]
    with netns.inside(b.ns):
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_NONBLOCK,
                            socket.htons(ETH_P_ALL))
        cap.bind((b.ifname, ETH_P_ALL))

    async def main():
        frames = Frames(cap, a.mac)
        peer = IPRoute(netns=b.ns)
        nl = Netlink()
        ann = Announcer()
        try:
            await peer.bind(groups=RTMGRP_NEIGH)
            for vip in (VIP4, VIP6):        # the old master's MAC, as after a failover
                await peer.neigh("add", dst=vip, lladdr=OLD_MAC, ifindex=b.ifindex,
                                 state=NUD_STALE)
            vips = VipSet(nl, [VipSpec(VIP4, ifname="eth0"), VipSpec(VIP6, ifname="eth0")])
            assert all(o.changed for o in await vips.add_all())

            # 1. one round: a GARP for the IPv4 VIP, an NA (no Router flag) for the IPv6 one
            first = ann.send_round(a.ifindex, a.mac, vips.specs)
            seen = [await frames.next(), await frames.next()]
            await wait_neighbours(peer, {VIP4: a.mac, VIP6: a.mac})
            table = {m.get("NDA_DST"): m.get("NDA_LLADDR")
                     for m in [x async for x in await peer.neigh("dump", ifindex=b.ifindex)]}

            # 2. IPv6 forwarding on: the NA carries the Router flag (fresh 5 s cache)
            netns.write_sysctls(a.ns, {("ipv6", "conf", a.ifname, "forwarding"): 1})
            routed = Announcer().send_round(a.ifindex, a.mac, [VIP6])
            seen_routed = await frames.next()

            # 3. IFF_NOARP: nothing sent; the next frame on the wire is the following round's
            ipr = IPRoute()
            try:
                await ipr.link("set", index=a.ifindex, arp=False)
                noarp = ann.send_round(a.ifindex, a.mac, vips.specs)
                await ipr.link("set", index=a.ifindex, arp=True)
            finally:
                ipr.close()
            after = ann.send_round(a.ifindex, a.mac, [VIP4B])
            seen_after = await frames.next()
            return first, seen, table, routed, seen_routed, noarp, after, seen_after, ann.stats
        finally:
            nl.close()
            peer.close()
            ann.close()

    try:
        with netns.inside(a.ns):
            first, seen, table, routed, seen_routed, noarp, after, seen_after, stats = \
                uvloop.run(main())
    finally:
        cap.close()
    assert first == RoundResult(sent=2)
    assert seen == [("garp", VIP4), ("na", VIP6, False)]
    assert table[VIP4] == a.mac and table[VIP6] == a.mac    # the peer learned VIP -> our MAC
    assert routed == RoundResult(sent=1)
    assert seen_routed == ("na", VIP6, True)
    assert noarp == RoundResult(skipped=2)
    assert after == RoundResult(sent=1)
    assert seen_after == ("garp", VIP4B)                    # nothing from the NOARP round
    assert stats["garp_sent"] == 2 and stats["na_sent"] == 1 and stats["noarp_skipped"] == 2


def test_send_errors_are_counted_not_raised(star):
    lab, links = star
    a = links["a"]

    async def main():
        ann = Announcer()
        ipr = IPRoute()
        try:
            await ipr.link("add", ifname="vy0", kind="veth", peer="vy1")
            index = (await ipr.link_lookup(ifname="vy0"))[0]
            down = ann.send_round(index, a.mac, [VIP4, VIP6])       # link down: ENETDOWN
            await ipr.link("del", index=index)
            gone = ann.send_round(index, a.mac, [VIP4])             # link deleted
            return down, gone, dict(ann.stats), dict(ann._sockets)
        finally:
            ipr.close()
            ann.close()

    with netns.inside(a.ns):
        down, gone, stats, sockets = uvloop.run(main())
    assert down.errors == 1 and down.sent == 0 and not down.ok    # the round stops at the first
    assert gone == RoundResult(errors=1)
    assert stats["send_errors"] == 2
    assert sockets == {}                                          # the dead socket was dropped
