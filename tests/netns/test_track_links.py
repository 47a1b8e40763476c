"""track_interface on real links in a lab namespace: admin down/up, carrier
loss (the veth's peer goes down), an interface deleted and made again under
its name, a rename, lost notifications, interface_up_down_delays.

The tracker runs in the test's own namespace and watches node "a" through
`netns=`; every change is awaited through on_change.  A change on another
interface of the same subscription is the barrier that proves an event was
handled (netlink keeps the order).
"""

import asyncio
import logging

import pytest
import uvloop

from fastvrrp.bench.lab import LinkSpec
from fastvrrp.host.events import Resync
from fastvrrp.host.nlsocket import IPRoute
from fastvrrp.track.links import LinkTracker, delays_from_config

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

WAIT = 10.0


class Run:
    def __init__(self, names, **kw):
        self.changes = asyncio.Queue()
        self.tracker = LinkTracker(names, on_change=lambda *c: self.changes.put_nowait(c), **kw)

    async def next(self):
        return await asyncio.wait_for(self.changes.get(), WAIT)


def setup(lab):
    links = lab.star(("a",), links_per_node=3, ipv6=False)["a"]
    return {l.ifname: l for l in links}


def test_down_carrier_delete_recreate_and_rename(lab, caplog):
    links = setup(lab)
    ns = lab.ns("a")

    async def main():
        node, switch = IPRoute(netns=ns), IPRoute(netns=lab.ns("sw"))
        r = Run(["eth1", "eth2", "eth9"], netns=ns)
        await r.tracker.start()
        assert r.tracker.states() == {"eth1": True, "eth2": True, "eth9": False}
        # administratively down and up again
        await node.link("set", index=links["eth1"].ifindex, state="down")
        assert await r.next() == ("eth1", True, False)
        await node.link("set", index=links["eth1"].ifindex, state="up")
        assert await r.next() == ("eth1", False, True)
        # carrier: the other end of the veth goes down, ours stays IFF_UP
        await switch.link("set", index=links["eth2"].port_ifindex, state="down")
        assert await r.next() == ("eth2", True, False)
        assert r.tracker.status("eth2").flags & 0x1          # still IFF_UP
        await switch.link("set", index=links["eth2"].port_ifindex, state="up")
        assert await r.next() == ("eth2", False, True)
        # deleted, then made again with the same name (a new ifindex)
        old_index = links["eth1"].ifindex
        await node.link("del", index=old_index)
        assert await r.next() == ("eth1", True, False)
        assert not r.tracker.status("eth1").present
        again = lab.connect(LinkSpec(node="a", bridge="br1", ifname="eth1"))[0]
        assert await r.next() == ("eth1", False, True)
        assert r.tracker.status("eth1").ifindex == again.ifindex != old_index
        # renamed: eth2 goes away, eth9 appears
        await node.link("set", index=links["eth2"].ifindex, state="down")
        assert await r.next() == ("eth2", True, False)
        await node.link("set", index=links["eth2"].ifindex, ifname="eth9")
        await node.link("set", index=links["eth2"].ifindex, state="up")
        assert await r.next() == ("eth9", False, True)
        assert not r.tracker.status("eth2").present
        await r.tracker.stop()
        node.close()
        switch.close()
    with caplog.at_level(logging.INFO, "fastvrrp.track.links"):
        uvloop.run(main())
    assert caplog.messages[:2] == ["Netlink reports eth1 down", "Netlink reports eth1 up"]


def test_resync_reads_every_link_again(lab):
    links = setup(lab)
    async def main():
        node = IPRoute(netns=lab.ns("a"))
        r = Run(["eth1", "eth2"], netns=lab.ns("a"), subscribe=False)   # fed by hand
        await r.tracker.start()
        await node.link("set", index=links["eth1"].ifindex, state="down")
        await node.link("del", index=links["eth2"].ifindex)
        await r.tracker.handle(Resync("test: notifications lost"))
        assert {await r.next(), await r.next()} == {("eth1", True, False), ("eth2", True, False)}
        assert r.tracker.resyncs == 1
        await r.tracker.stop()
        node.close()
    uvloop.run(main())


def test_interface_delays(lab, caplog):
    links = setup(lab)
    eth0, eth1, eth2 = (links[n].ifindex for n in ("eth0", "eth1", "eth2"))

    async def main():
        node = IPRoute(netns=lab.ns("a"))
        r = Run(["eth0", "eth1", "eth2"], netns=lab.ns("a"),
                delays={"eth1": (30.0, 0.0), "eth2": (0.1, 0.0)})
        await r.tracker.start()
        await node.link("set", index=eth1, state="down")          # held back by its 30 s delay
        await node.link("set", index=eth0, state="down")          # the barrier
        assert await r.next() == ("eth0", True, False)
        assert r.tracker.status("eth1").pending is False and r.tracker.up("eth1")
        await node.link("set", index=eth1, state="up")            # back before the delay ends
        await node.link("set", index=eth0, state="up")
        assert await r.next() == ("eth0", False, True)
        assert r.tracker.status("eth1").pending is None and r.tracker.up("eth1")
        await node.link("set", index=eth2, state="down")          # 0.1 s delay: reported after it
        assert await r.next() == ("eth2", True, False)
        await node.link("set", index=eth2, state="up")            # no up delay
        assert await r.next() == ("eth2", False, True)
        await r.tracker.stop()
        node.close()
    with caplog.at_level(logging.INFO, "fastvrrp.track.links"):
        uvloop.run(main())
    assert "Delay timer for eth1 cancelled" in caplog.messages


def test_bad_names_and_delays_are_refused():
    with pytest.raises(ValueError, match="interface name"):
        LinkTracker(["a" * 16])
    with pytest.raises(ValueError, match="interface name"):
        LinkTracker([""])
    with pytest.raises(ValueError, match="down delay"):
        LinkTracker(["eth0"], delays={"eth0": (-1, 0)})
    with pytest.raises(KeyError, match="not tracked"):
        LinkTracker(["eth0"]).up("eth1")


def test_delays_from_config():
    from fastvrrp.config import loads
    config, diags = loads("global_defs {\n}\ninterface_up_down_delays {\n eth0 2 1.5\n eth1 3\n}\n")
    assert not diags.errors, [str(d) for d in diags.errors]
    assert delays_from_config(config) == {"eth0": (2.0, 1.5), "eth1": (3.0, 0.0)}
