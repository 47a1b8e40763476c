"""Issue 6 takeover: the engine's subscription never decodes the notifications
of its own VIPs (IFA_PROTO 112), real kernel messages in a lab namespace."""

import ipaddress

import pytest
import uvloop

from fastvrrp.bench import netns
from fastvrrp.bench.lab import Lab
from fastvrrp.host.addrspec import IFAPROT_FASTVRRP, VipSpec
from fastvrrp.host.events import AddrEvent, NetlinkEvents
from fastvrrp.host.netlink import Netlink
from fastvrrp.host.nlsocket import IPRoute
from fastvrrp.host.vips import VipSet

pytestmark = pytest.mark.netns

TIMEOUT = 5.0


@pytest.fixture
def node():
    lab = Lab("fvt")
    try:
        links = lab.star(("a",))
        yield links["a"][0]
    finally:
        lab.close()


def _is(kind, address):
    return lambda e: (isinstance(e, AddrEvent) and e.kind == kind
                      and ipaddress.ip_address(e.addr.address) == ipaddress.ip_address(address))


def test_our_vips_are_dropped_undecoded_other_addresses_come_through(node):
    async def main():
        seen = []
        ipr = IPRoute()
        try:
            async with NetlinkEvents(links=False, skip_proto=IFAPROT_FASTVRRP) as events, \
                    Netlink() as nl:
                vips = VipSet(nl, [VipSpec("10.77.0.1/32", ifname="eth0"),
                                   VipSpec("fd77::1/128", ifname="eth0")])
                await vips.add_all()                    # ours: IFA_PROTO 112
                await ipr.addr("add", index=node.ifindex, address="10.77.0.2", prefixlen=32)

                def record(event):
                    seen.append(event)
                    return _is("new", "10.77.0.2")(event)
                await events.wait_for(record, TIMEOUT)
                await vips.remove_all()
                await ipr.addr("del", index=node.ifindex, address="10.77.0.2", prefixlen=32)

                def record_del(event):
                    seen.append(event)
                    return _is("del", "10.77.0.2")(event)
                gone = await events.wait_for(record_del, TIMEOUT)
                return seen, gone, events._ipr.skipped, events.resyncs
        finally:
            ipr.close()

    with netns.inside(node.ns):
        seen, gone, skipped, resyncs = uvloop.run(main())
    assert gone.addr.proto != IFAPROT_FASTVRRP
    ours = {"10.77.0.1", "fd77::1"}
    assert not [e for e in seen if isinstance(e, AddrEvent) and e.addr.address in ours]
    assert skipped >= 2            # the VIP adds and removes were in datagrams of their own
    assert resyncs == 0


def test_without_the_filter_our_vips_are_seen(node):
    """The control: the same VIP add is decoded when no skip_proto is given."""
    async def main():
        async with NetlinkEvents(links=False, ipv6=False) as events, Netlink() as nl:
            vips = VipSet(nl, [VipSpec("10.77.0.9/32", ifname="eth0")])
            await vips.add_all()
            event = await events.wait_for(_is("new", "10.77.0.9"), TIMEOUT)
            await vips.remove_all()
            return event

    with netns.inside(node.ns):
        event = uvloop.run(main())
    assert event.addr.proto == IFAPROT_FASTVRRP
