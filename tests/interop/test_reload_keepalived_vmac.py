"""A VMAC deleted behind the daemon's back, keepalived 2.2.7 and fastvrrp side
by side (issue 5; keepalived_netlink.c RTM_DELLINK of an interface that is
ours -> recreate_vmac_thread, vrrp_if.c).

Each implementation runs the same `use_vmac` MASTER; the macvlan is deleted
with `ip link del`; the daemon re-creates it (same name, RFC 5798 §7.3 MAC),
the instance passes through FAULT, wins again, re-adds its VIP, and the VIP
answers ARP with the virtual MAC again.  Lab prefix "fvrl" (this task's
fvR1, as Lab names allow).
"""


import pytest

from fastvrrp.bench.waitfor import WaitTimeout, wait_for

from engine_lab import (arp_ask, config, instance_block, macvlans_in,
                        require_keepalived)

pytestmark = [pytest.mark.interop, pytest.mark.netns, pytest.mark.timeout(150)]

VIP = "10.0.0.100"
VRID = 51
VMAC = "00:00:5e:00:01:%02x" % VRID
NAME = "vrrp.%d" % VRID


def _answer(pair, address):
    try:
        return arp_ask(pair.lab, pair.links["b"], address, timeout=0.5)
    except WaitTimeout:
        return None


@pytest.mark.parametrize("kind", ["keepalived", "fastvrrp"])
def test_deleted_vmac_is_recreated_by_both(pair, kind):
    require_keepalived()
    lab, ns = pair.lab, pair.links["a"].ns
    a = pair.daemon("a", kind, config(instance_block(
        vrid=VRID, priority=200, version=2, advert_int="1", vips=(VIP + "/24",),
        extra=("use_vmac",))))
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=15)
    wait_for(lambda: _answer(pair, VIP) == (VMAC, VMAC), 10, what="the VIP on the VMAC")
    ipr = lab.iproute(ns)
    (old_index,) = ipr.link_lookup(ifname=NAME)
    ipr.link("del", index=old_index)
    a.wait_log(r"\(VI_1\) Entering FAULT STATE")
    wait_for(lambda: macvlans_in(lab, ns) == {NAME: VMAC}, 10, what="the VMAC re-created")
    pair.watch.wait_holders(VIP, set(), timeout=5)
    pair.watch.wait_holders(VIP, {"a"}, timeout=15)
    # the line comes with the VIP (keepalived: just before it; fastvrrp: just after)
    wait_for(lambda: "Entering MASTER STATE" in a.log(whole=True).split(
        "Entering FAULT STATE", 1)[1], 5, what="Entering MASTER STATE after the FAULT")
    after = a.log(whole=True).split("Entering FAULT STATE", 1)[1]
    assert "Entering BACKUP STATE" in after and "Entering MASTER STATE" in after
    wait_for(lambda: _answer(pair, VIP) == (VMAC, VMAC), 10,
             what="the VIP answering from the re-created VMAC")
    a.stop()
    assert macvlans_in(lab, ns) == {}
