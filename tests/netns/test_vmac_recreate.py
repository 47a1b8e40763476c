"""A VMAC deleted behind our back is re-created (issue 5; keepalived 2.2.7
keepalived_netlink.c: an RTM_DELLINK for a VMAC that is ours and not being
deleted by us schedules recreate_vmac_thread, vrrp_if.c; meanwhile the lost
interface takes its instance to FAULT).

fastvrrp notices the deletion through its netlink link events, the instance
enters FAULT, the macvlan comes back with the same name, RFC 5798 §7.3 MAC
and settings, the instance leaves FAULT, wins again, re-adds its VIP, and the
VIP answers ARP with the virtual MAC again.  Lab prefix "fvrl" (this task's
fvR1, as Lab names allow).
"""

import ipaddress
import time

import pytest

from fastvrrp.bench.waitfor import WaitTimeout, wait_for

from engine_lab import addresses_in, arp_ask, config, instance_block, macvlans_in

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP = "10.0.0.100"
VRID = 51
VMAC = "00:00:5e:00:01:%02x" % VRID          # RFC 5798 §7.3
NAME = "vrrp.%d" % VRID


def _answer(pair, address):
    try:
        return arp_ask(pair.lab, pair.links["b"], address, timeout=0.5)
    except WaitTimeout:
        return None


def _conf(*extra):
    return config(instance_block(vrid=VRID, priority=200, vips=(VIP + "/24",),
                                 extra=("use_vmac",) + extra))


@pytest.mark.parametrize("extra", [(), ("vmac_xmit_base",)], ids=["via-vmac", "xmit-base"])
def test_deleted_vmac_is_recreated_and_the_vip_answers_from_it_again(pair, extra):
    lab, ns = pair.lab, pair.links["a"].ns
    a = pair.daemon("a", "fastvrrp", _conf(*extra))
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=15)
    assert _answer(pair, VIP) == (VMAC, VMAC)
    ipr = lab.iproute(ns)
    (old_index,) = ipr.link_lookup(ifname=NAME)

    ipr.link("del", index=old_index)                   # behind fastvrrp's back
    a.wait_log(r"\(VI_1\) VMAC interface %s deleted - re-creating it" % NAME.replace(".", r"\."))
    a.wait_log(r"\(VI_1\) Entering FAULT STATE")
    wait_for(lambda: macvlans_in(lab, ns) == {NAME: VMAC}, 10, what="the VMAC re-created")
    assert ipr.link_lookup(ifname=NAME) != [old_index]
    a.wait_log(r"\(VI_1\) Entering BACKUP STATE", timeout=10)
    pair.watch.wait_holders(VIP, {"a"}, timeout=15)    # won again, the VIP re-added
    # its line is written just after the VIP is up and announced (engine.py)
    wait_for(lambda: a.log(whole=True).count("Entering MASTER STATE") >= 2, 5,
             what="the second Entering MASTER STATE")
    log = a.log(whole=True)
    assert log.count("Entering MASTER STATE") == 2
    # the VIP is on the new VMAC and answers ARP with the virtual MAC again
    (new_index,) = ipr.link_lookup(ifname=NAME)
    on_vmac = {msg.get_attr("IFA_ADDRESS") for msg in ipr.get_addr(index=new_index)}
    assert VIP in on_vmac
    wait_for(lambda: _answer(pair, VIP) == (VMAC, VMAC), 10,
             what="the VIP answering from the re-created VMAC")
    # the adverts go on from the virtual MAC (through the new VMAC), or from
    # the base's MAC with vmac_xmit_base
    cap = lab.capture("sw", "br0", bpf="ip proto 112")
    adverts = cap.wait_frames(2, timeout=5)
    cap.stop()
    assert {f.eth_src for f in adverts} == {pair.links["a"].mac if extra else VMAC}
    assert "Traceback" not in log
    assert a.stop() == 0
    assert macvlans_in(lab, ns) == {}
    assert ipaddress.ip_address(VIP) not in addresses_in(ns)


def test_deleted_ipv6_vmac_is_recreated_and_adverts_leave_through_it(pair):
    # RFC 5798 §7.3: 00-00-5E-00-02-{VRID}; the re-created VMAC gets its
    # link-local source again (RFC 5798 §5.1.2.1) and the adverts go on from it
    lab, ns = pair.lab, pair.links["a"].ns
    vip6 = "fd00::100"
    vmac6 = "00:00:5e:00:02:%02x" % VRID
    a = pair.daemon("a", "fastvrrp", config(instance_block(
        vrid=VRID, priority=200, vips=(vip6 + "/64",), extra=("use_vmac",))))
    a.start()
    pair.watch.wait_holders(vip6, {"a"}, timeout=15)
    ipr = lab.iproute(ns)
    t0 = time.monotonic_ns()
    ipr.link("del", index=ipr.link_lookup(ifname=NAME)[0])
    a.wait_log(r"\(VI_1\) Entering FAULT STATE")
    pair.watch.wait_change("a", vip6, True, t0, timeout=15)
    assert macvlans_in(lab, ns) == {NAME: vmac6}
    cap = lab.capture("sw", "br0", bpf="ip6 and ip6[6] == 112")
    adverts = cap.wait_frames(2, match=lambda f: f.ethertype == 0x86DD, timeout=5)
    cap.stop()
    assert {f.eth_src for f in adverts} == {vmac6}
    assert "Traceback" not in a.log(whole=True)
    assert a.stop() == 0
    assert macvlans_in(lab, ns) == {}
