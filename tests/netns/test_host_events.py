"""Link and address notifications in a lab namespace, awaited (no sleeps)."""

import asyncio
import ipaddress
import threading

import pytest
import uvloop

from fastvrrp.bench import netns
from fastvrrp.host.addrspec import VipSpec
from fastvrrp.host.events import AddrEvent, LinkEvent, NetlinkEvents, Resync
from fastvrrp.host.netlink import Netlink
from fastvrrp.host.nlsocket import IPRoute
from fastvrrp.host.vips import VipSet

pytestmark = pytest.mark.netns

TIMEOUT = 5.0


def test_link_down_up_and_address_events(star):
    lab, links = star
    a = links["a"]

    def link_of(index, up):
        return lambda e: isinstance(e, LinkEvent) and e.link.index == index and e.link.up == up

    def addr_of(kind, address):
        return lambda e: (isinstance(e, AddrEvent) and e.kind == kind
                          and ipaddress.ip_address(e.addr.address) == ipaddress.ip_address(address))

    async def main():
        ipr = IPRoute()
        try:
            async with NetlinkEvents() as events, Netlink() as nl:
                await ipr.link("set", index=a.ifindex, state="down")
                down = await events.wait_for(link_of(a.ifindex, False), TIMEOUT)
                await ipr.link("set", index=a.ifindex, state="up")
                up = await events.wait_for(link_of(a.ifindex, True), TIMEOUT)
                vips = VipSet(nl, [VipSpec("fd00::99", ifname="eth0")])
                await vips.add_all()
                added = await events.wait_for(addr_of("new", "fd00::99"), TIMEOUT)
                await vips.remove_all()
                removed = await events.wait_for(addr_of("del", "fd00::99"), TIMEOUT)
                return down, up, added, removed, events.resyncs
        finally:
            ipr.close()

    with netns.inside(a.ns):
        down, up, added, removed, resyncs = uvloop.run(main())
    assert down.kind == "new" and not down.link.up and not down.link.running
    assert down.link.ifname == "eth0" and down.link.mac == a.mac
    assert up.link.up
    assert added.addr.proto == 112 and added.addr.index == a.ifindex
    assert removed.addr.prefixlen == 128
    assert resyncs == 0


def test_lost_notifications_give_one_resync_then_events_again(star):
    """Overflow the subscription's receive buffer for real: Resync, then it recovers."""
    lab, links = star
    a = links["a"]
    count = 300

    def flood():
        # Runs in another thread while the loop is blocked, so nothing drains the socket.
        from pyroute2 import IPRoute as SyncIPRoute
        with SyncIPRoute() as ipr:
            for i in range(count):
                ipr.addr("add", index=a.ifindex, address="10.1.%d.%d" % (i // 250, i % 250 + 1),
                         prefixlen=32)

    async def main():
        async with NetlinkEvents(links=False, ipv6=False, rcvbuf=4096) as events:
            worker = threading.Thread(target=flood)
            worker.start()
            worker.join()                       # blocks the loop on purpose
            first = None
            async for event in events:
                if isinstance(event, Resync):
                    first = event
                    break
            ipr = IPRoute()
            try:
                await ipr.addr("add", index=a.ifindex, address="10.2.0.1", prefixlen=32)
            finally:
                ipr.close()
            after = await events.wait_for(
                lambda e: isinstance(e, AddrEvent) and e.addr.address == "10.2.0.1", TIMEOUT)
            return first, after, events.resyncs

    with netns.inside(a.ns):
        first, after, resyncs = uvloop.run(asyncio.wait_for(main(), 30))
    assert isinstance(first, Resync) and "105" in first.reason      # ENOBUFS
    assert isinstance(after, AddrEvent) and after.kind == "new"
    assert resyncs == 1
