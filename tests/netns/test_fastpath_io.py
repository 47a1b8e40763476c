"""The compiled fast path on real sockets: recvmmsg / sendmmsg batches in a lab.

1. Two fast paths (machines + bridge + loop driver each) in two namespaces
   over the lab's bridges, 500 VRRPv3 instances over 2 links (VRIDs 1..250
   over IPv4 on one link, over IPv6 on the other): node a owns every VRID
   (priority 255, Master at once), node b backs them up.  Once every backup
   knows its master, a window of 10 advert intervals: the backup's escalation
   counter stays flat while every one of its slots keeps settling; the
   master's adverts leave in sendmmsg batches (C counts the calls); when the
   master stops, the backup has received exactly what the master sent.
2. The real keepalived as master, our fast path as backup: after the first
   advert it holds BACKUP with zero escalations.

The windows are the "nothing happens for N adverts" checks: bounded by the
advert interval and explained where they are; every other wait is on an
event or a bounded poll (wait_for style).
"""

import asyncio
import ipaddress
import os
import re
import shutil

import pytest

from fastvrrp._fastpath import FastPath
from fastvrrp.bench import netns
from fastvrrp.bench.keepalived_proc import Keepalived
from fastvrrp.daemon import sockets
from fastvrrp.daemon.fastpath_bridge import FastPathBridge, FastPathDriver
from fastvrrp.reference.fastpath import SlowPath
from fastvrrp.vrrp import InstanceParams, Startup, State, StateChanged, VrrpMachine

pytestmark = pytest.mark.netns

ADVERT_CS = 10                   # 100 ms: 500 instances = 5,000 adverts/s
PER_LINK = 250


def _uvloop_runner():
    import uvloop
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


async def _until(condition, timeout, what):
    """Poll `condition` on the loop (the loop keeps running the fast paths)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        await asyncio.sleep(0.02)


class Node:
    """One router: sockets on its links, a fast path, a bridge, a loop driver."""

    def __init__(self, links, loop, cls=FastPath):
        self.fp = cls()
        self.bridge = FastPathBridge(self.fp, self._engine, strict=True)
        self.driver = FastPathDriver(self.fp, loop, bridge=self.bridge)
        self.transitions = []
        self.socks = []
        self.sids = {}
        for family, link in links:
            with netns.inside(link.ns):
                opened = ((sockets.open_rx_v4(link.ifname), sockets.open_tx_v4(link.ifname))
                          if family == 4 else
                          (sockets.open_rx_v6(link.ifname), sockets.open_tx_v6(link.ifname)))
            self.socks.extend(opened)
            rx, tx = opened
            rx_sid = self.fp.add_socket(rx.fileno(), family, ifindex=link.ifindex)
            tx_sid = self.fp.add_socket(tx.fileno(), family, ifindex=link.ifindex, receive=False)
            self.driver.add_socket(rx_sid, rx.fileno())
            self.sids[link.ifname, family] = (rx_sid, tx_sid)

    def _engine(self, index, now, actions):
        self.transitions.extend((index, a.new) for a in actions if type(a) is StateChanged)

    def close(self):
        self.driver.stop()
        for s in self.socks:
            s.close()


def _instances(node, links, priority, per_link=PER_LINK):
    index = 0
    for family, link in links:
        rx_sid, tx_sid = node.sids[link.ifname, family]
        src = link.ip4 if family == 4 else link.ipv6_ll
        for vrid in range(1, per_link + 1):
            vip = ("10.100.%d.%d" % (vrid // 256, vrid % 256) if family == 4
                   else "fd00:100::%x" % vrid)
            params = InstanceParams(name="VI_%d" % index, vrid=vrid, version=3, priority=priority,
                                    advert_int_cs=ADVERT_CS, vips=(ipaddress.ip_address(vip),),
                                    primary_address=ipaddress.ip_address(src),
                                    garp_master_repeat=0, garp_master_delay_ns=0)
            node.bridge.add_instance(index, VrrpMachine(params), rx_socket=rx_sid, tx_socket=tx_sid,
                                     src=src)
            index += 1
    return index


def _sum(fp, sids, key):
    return sum(fp.socket_stats(sid)[key] for sid in sids)


def test_500_instances_settle_and_batch_over_two_links(lab):
    links = lab.star(("a", "b"), links_per_node=2)
    a_links = [(4, links["a"][0]), (6, links["a"][1])]
    b_links = [(4, links["b"][0]), (6, links["b"][1])]

    async def main():
        loop = asyncio.get_running_loop()
        master, backup = Node(a_links, loop), Node(b_links, loop)
        try:
            n = _instances(master, a_links, 255)
            assert _instances(backup, b_links, 100) == n == 2 * PER_LINK
            master.driver.start()
            backup.driver.start()
            t0 = master.fp.clock()
            for i in range(n):                 # owners: Master at once (RFC 5798 §6.4.1)
                master.bridge.deliver(i, Startup(), t0)
            for i in range(n):
                backup.bridge.deliver(i, Startup())
            await _until(lambda: all(backup.fp.slot_info(i)["rx_settle"] for i in range(n)),
                         10, "every backup slot to know its master")
            assert all(backup.bridge.machine(i).state is State.BACKUP for i in range(n))
            esc0 = backup.fp.stats()["python_escalations"]
            settled0 = [backup.fp.slot_stats(i)["rx_settled"] for i in range(n)]
            # The window: 10 advert intervals in which nothing may reach Python.
            await asyncio.sleep(10 * ADVERT_CS / 100)
            esc1 = backup.fp.stats()["python_escalations"]
            settled1 = [backup.fp.slot_stats(i)["rx_settled"] for i in range(n)]
            master.driver.stop()               # the master goes silent ...
            master.fp.flush()
            backup.driver.stop()
            sent = _sum(master.fp, [tx for _rx, tx in master.sids.values()], "tx_packets")
            rx_sids = [rx for rx, _tx in backup.sids.values()]

            def all_read():                    # ... and the backup reads what is left
                backup.fp.drain()
                return _sum(backup.fp, rx_sids, "rx_packets") == sent
            await _until(all_read, 5, "the backup to receive every advert sent")
            return n, master, backup, esc0, esc1, settled0, settled1
        finally:
            master.close()
            backup.close()

    with _uvloop_runner() as runner:
        n, master, backup, esc0, esc1, settled0, settled1 = runner.run(main())

    assert esc1 == esc0, "the backup escalated %d events in steady state" % (esc1 - esc0)
    assert all(b > a for a, b in zip(settled0, settled1)), "a slot stopped settling"
    assert backup.transitions == [(i, State.BACKUP) for i in range(n)]
    ms, bs = master.fp.stats(), backup.fp.stats()
    assert ms["tx_errors"] == 0 and ms["python_escalations"] == n    # each owner's 1 µs Master_Down
    assert ms["tx_packets"] >= 10 * ms["tx_batches"], "adverts did not leave in sendmmsg batches"
    assert sum(backup.fp.slot_stats(i)["advert_rcvd"] for i in range(n)) == ms["tx_packets"]
    assert bs["drops"] == {} and bs["rx_batches"] < bs["rx_packets"]


def test_reference_twin_receives_and_sends_the_same_packets(lab):
    """SlowPath (recvmsg / sendmsg in Python) against the compiled fast path, both ways."""
    links = lab.star(("a", "b"), links_per_node=2)
    a_links = [(4, links["a"][0]), (6, links["a"][1])]
    b_links = [(4, links["b"][0]), (6, links["b"][1])]

    async def main():
        loop = asyncio.get_running_loop()
        out = []
        for master_cls, backup_cls in ((FastPath, SlowPath), (SlowPath, FastPath)):
            master, backup = Node(a_links, loop, master_cls), Node(b_links, loop, backup_cls)
            try:
                n = _instances(master, a_links, 255, per_link=2)
                _instances(backup, b_links, 100, per_link=2)
                master.driver.start()
                backup.driver.start()
                for i in range(n):
                    master.bridge.deliver(i, Startup())
                    backup.bridge.deliver(i, Startup())
                await _until(lambda: all(backup.fp.slot_info(i)["rx_settle"] and
                                         backup.fp.slot_stats(i)["advert_rcvd"] >= 3
                                         for i in range(n)), 10, "3 adverts at every backup")
                out.append((backup.transitions, [backup.bridge.counters(i) for i in range(n)],
                            backup.fp.stats()))
            finally:
                master.close()
                backup.close()
        return n, out

    with _uvloop_runner() as runner:
        n, out = runner.run(main())
    for transitions, counters, stats in out:
        assert transitions == [(i, State.BACKUP) for i in range(n)]
        assert all(c["advert_rcvd"] >= 3 and c["chk_err"] == c["ip_ttl_err"] == 0 for c in counters)
        assert stats["drops"] == {}


# -- 2. keepalived as master ----------------------------------------------------

def _require_keepalived():
    if shutil.which("keepalived") or os.access("/usr/sbin/keepalived", os.X_OK):
        return
    if os.environ.get("FASTVRRP_REQUIRE_INTEROP") == "1":
        pytest.fail("keepalived is not installed and FASTVRRP_REQUIRE_INTEROP=1")
    pytest.skip("keepalived is not installed")


KA_CONFIG = """vrrp_instance VI_1 {
    state MASTER
    interface %(ifname)s
    virtual_router_id 66
    priority 200
    advert_int 0.1
    version 3
    virtual_ipaddress {
        10.0.0.130/24
    }
}
"""


@pytest.mark.interop
def test_keepalived_master_our_backup_settles_everything(star):
    _require_keepalived()
    lab, links = star
    a, b = links["a"], links["b"]

    async def main():
        loop = asyncio.get_running_loop()
        node = Node([(4, b)], loop)
        ka = None
        try:
            rx_sid, tx_sid = node.sids[b.ifname, 4]
            params = InstanceParams(name="VI_1", vrid=66, version=3, priority=100,
                                    advert_int_cs=10,
                                    vips=(ipaddress.ip_address("10.0.0.130"),),
                                    primary_address=ipaddress.ip_address(b.ip4))
            node.bridge.add_instance(0, VrrpMachine(params), rx_socket=rx_sid, tx_socket=tx_sid,
                                     src=b.ip4)
            node.driver.start()
            node.bridge.deliver(0, Startup())
            ka = Keepalived(lab, "a", KA_CONFIG % {"ifname": a.ifname}, name="ka-fastpath").start()
            await _until(lambda: node.fp.slot_info(0)["rx_settle"], 15,
                         "keepalived's first advert to reach the backup")
            esc0 = node.fp.stats()["python_escalations"]
            settled0 = node.fp.slot_stats(0)["rx_settled"]
            # The window: 10 of keepalived's 100 ms adverts, none may reach Python.
            await asyncio.sleep(1.0)
            return (esc0, node.fp.stats()["python_escalations"], settled0,
                    node.fp.slot_stats(0)["rx_settled"], node.bridge.machine(0).state,
                    node.bridge.counters(0), ka.log())
        finally:
            if ka is not None:
                ka.stop()
            node.close()

    with _uvloop_runner() as runner:
        esc0, esc1, settled0, settled1, state, counters, log = runner.run(main())
    assert re.search(r"\(VI_1\) Entering MASTER STATE", log), log
    assert state is State.BACKUP
    assert esc1 == esc0
    assert settled1 - settled0 >= 5, "keepalived's adverts were not settled in C"
    assert counters["advert_rcvd"] >= settled1 and counters["chk_err"] == 0
