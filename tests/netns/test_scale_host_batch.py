"""Issue 6 on a real kernel: hundreds of VIP adds and removes in one netlink batch,
interfaces resolved from a table (no lookups), GARP bursts first rounds first.

The code under test runs with the test thread inside node "a" of a lab whose
namespaces carry the prefix "fvss" (fastvrrp.bench.lab accepts only
lowercase letters); node "b" captures a's frames.
"""

import asyncio
import errno
import ipaddress
import os
import socket

import pytest
import uvloop

from fastvrrp.bench import netns
from fastvrrp.bench.lab import Lab
from fastvrrp.host.addrbatch import encode_ifa
from fastvrrp.host.addrspec import IFAPROT_FASTVRRP, IfaRequest, VipSpec
from fastvrrp.host.announce import Announcer
from fastvrrp.host.netlink import DONE, EXISTS, FAILED, Netlink
from fastvrrp.host.nlbatch import WINDOW, NetlinkBatch
from fastvrrp.host.vips import VipSet, cleanup_by_proto

pytestmark = pytest.mark.netns

ETH_P_ALL = 0x0003
COUNT = 600


@pytest.fixture
def star2():
    from conftest import require_root
    require_root()
    lab = Lab("fvss")
    try:
        links = lab.star(("a", "b"))
        yield lab, {node: node_links[0] for node, node_links in links.items()}
    finally:
        lab.close()


def vip(j):
    return str(ipaddress.ip_address("10.77.0.0") + j + 1)


def run_in(ns, coro_fn):
    with netns.inside(ns):
        return uvloop.run(coro_fn())


def test_a_burst_of_vip_sets_goes_out_in_a_few_sends_without_link_lookups(star2):
    lab, links = star2
    a = links["a"]
    table = {"eth0": a.ifindex}

    async def main():
        async with Netlink() as nl:
            async def no_lookups(which):
                raise AssertionError("link lookup for %r: the table must answer" % (which,))
            nl.link = no_lookups
            # someone else's address, already there: EXISTS, not ours, left alone
            other = VipSpec(vip(COUNT - 1), ifname="eth0").to_netlink(a.ifindex, proto=None)
            assert (await nl.add_address(other)).status == DONE
            sets = [VipSet(nl, [VipSpec(vip(j), ifname="eth0")], name="VI_%d" % j,
                           ifindex_of=table.get) for j in range(COUNT)]
            added = await asyncio.gather(*(s.add_all() for s in sets))
            stats_add = dict(nl._nlbatch.stats)
            present = {i.address: i for i in await nl.addresses(a.ifindex, socket.AF_INET)}
            removed = await asyncio.gather(*(s.remove_all() for s in sets))
            after = {i.address for i in await nl.addresses(a.ifindex, socket.AF_INET)}
            await nl.del_address(other)
            return added, stats_add, present, removed, after, nl.busy

    added, stats_add, present, removed, after, busy = run_in(a.ns, main)
    statuses = [o.status for outcomes in added for o in outcomes]
    assert statuses == [DONE] * (COUNT - 1) + [EXISTS]
    assert stats_add["requests"] == COUNT + 1
    # every request of the burst left in ceil(COUNT / WINDOW) sends (plus the first add)
    assert stats_add["sends"] <= 1 + -(-COUNT // WINDOW)
    assert stats_add["largest_send"] > 1
    assert all(present[vip(j)].proto == IFAPROT_FASTVRRP for j in range(COUNT - 1))
    assert [len(r) for r in removed] == [1] * (COUNT - 1) + [0]   # only what we added
    assert all(o.status == DONE for r in removed for o in r)
    assert vip(COUNT - 1) in after                                # not ours: it stayed
    assert not any(vip(j) in after for j in range(COUNT - 1))
    assert not busy


def test_an_interface_missing_from_the_table_is_a_failed_outcome(star2):
    lab, links = star2
    a = links["a"]

    async def main():
        async with Netlink() as nl:
            vips = VipSet(nl, [VipSpec(vip(1), ifname="gone0"), VipSpec(vip(2), ifname="eth0")],
                          name="VI_1", ifindex_of={"eth0": a.ifindex}.get)
            return await vips.add_all(), vips.added, await cleanup_by_proto(nl)

    outcomes, held, cleaned = run_in(a.ns, main)
    assert [o.status for o in outcomes] == [FAILED, DONE]
    assert outcomes[0].errno == errno.ENODEV and "gone0" in outcomes[0].error
    assert len(held) == 1
    assert [o.status for o in cleaned] == [DONE]          # the crash cleanup finds it by mark


def test_the_kernel_errno_of_a_refused_request_reaches_its_waiter(star2):
    lab, links = star2
    a = links["a"]
    good = VipSpec(vip(5), ifindex=a.ifindex).to_netlink()
    bad = IfaRequest(good.family, good.prefixlen, 0, 0, 0x7FFFFFF0, good.attrs)   # no ifindex

    async def main():
        batch = NetlinkBatch()
        try:
            flags = 0x1 | 0x4 | 0x400 | 0x200           # REQUEST | ACK | CREATE | EXCL
            return await asyncio.gather(batch.request(20, flags, encode_ifa(bad)),
                                        batch.request(20, flags, encode_ifa(good)),
                                        batch.request(20, flags, encode_ifa(good)))
        finally:
            batch.close()

    assert run_in(a.ns, main) == [errno.ENODEV, 0, errno.EEXIST]


def test_a_garp_burst_puts_every_first_round_on_the_wire_before_the_repeats(star2):
    lab, links = star2
    a, b = links["a"], links["b"]
    with netns.inside(b.ns):
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_NONBLOCK,
                            socket.htons(ETH_P_ALL))
        cap.bind((b.ifname, ETH_P_ALL))
    addrs = [vip(j) for j in range(3)]

    async def main():
        ann = Announcer()
        try:
            counts = await asyncio.gather(*(ann.announce([((a.ifindex, a.mac), [addr])], 3)
                                            for addr in addrs))
        finally:
            ann.close()
        return counts, dict(ann.stats)

    try:
        counts, stats = run_in(a.ns, main)
        seen = []
        mac = bytes(int(p, 16) for p in a.mac.split(":"))
        while True:
            try:
                frame = cap.recv(2048)
            except BlockingIOError:
                break
            # ARP (0x0806) from a's MAC: the sender IP is the VIP announced
            if frame[6:12] == mac and frame[12:14] == b"\x08\x06":
                seen.append(str(ipaddress.ip_address(frame[28:32])))
    finally:
        cap.close()
    assert counts == [3, 3, 3]
    assert stats["garp_sent"] == 9
    assert seen == addrs * 3            # round 1 of every instance, then round 2, then 3


def test_a_named_namespace_gets_the_batch_socket_and_the_caller_stays_home(star2):
    lab, links = star2
    a = links["a"]
    home = os.readlink("/proc/thread-self/ns/net")

    async def main():
        async with Netlink(netns=a.ns) as nl:
            req = VipSpec(vip(9), ifindex=a.ifindex).to_netlink()
            added = await nl.add_address(req)
            present = {i.address for i in await nl.addresses(a.ifindex)}
            removed = await nl.del_address(VipSpec(vip(9), ifindex=a.ifindex).to_netlink_delete())
            return added, present, removed

    added, present, removed = uvloop.run(main())
    assert added.status == DONE and removed.status == DONE
    assert vip(9) in present
    assert os.readlink("/proc/thread-self/ns/net") == home
