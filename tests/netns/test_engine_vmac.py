"""`use_vmac` end to end (issue 5 point 4; RFC 5798 §7.3, keepalived vrrp_vmac.c).

The master's VIP lives on a macvlan carrying 00:00:5e:00:01:VRID: an ARP
from the peer's namespace is answered with that MAC, the adverts leave
through the VMAC with it (through the base with `vmac_xmit_base`), and no
macvlan is left behind after a clean stop, nor after kill -9 and a restart
(the restart removes the crashed run's VMAC; reference §3.14 step 7).
"""

import ipaddress
import signal
import time

import pytest

from fastvrrp.bench.waitfor import WaitTimeout, wait_for

from engine_lab import addresses_in, arp_ask, config, instance_block, macvlans_in

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP = "10.0.0.100"
VRID = 51
VMAC = "00:00:5e:00:01:%02x" % VRID          # RFC 5798 §7.3
VRRP_FILTER = "ip proto 112"



def _conf(*extra):
    return config(instance_block(vrid=VRID, priority=200, vips=(VIP + "/24",),
                                 extra=("use_vmac",) + extra))


def _advert(frame):
    payload = frame.payload
    return frame.ethertype == 0x0800 and len(payload) > 20 and payload[9] == 112


def test_vip_answers_arp_with_the_virtual_mac_and_nothing_is_left(pair):
    lab, links = pair.lab, pair.links
    a = pair.daemon("a", "fastvrrp", _conf())
    cap = lab.capture("sw", "br0", bpf=VRRP_FILTER)
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    assert macvlans_in(lab, links["a"].ns) == {"vrrp.%d" % VRID: VMAC}
    # RFC 5798 §7.3: the adverts' source MAC is the virtual router MAC
    adverts = cap.wait_frames(2, match=_advert, timeout=5)
    assert {f.eth_src for f in adverts} == {VMAC}

    # the peer asks who has the VIP: the reply comes from the virtual MAC
    assert arp_ask(lab, links["b"], VIP) == (VMAC, VMAC)

    # a clean stop: the VIP and the VMAC are gone
    assert a.stop() == 0
    assert macvlans_in(lab, links["a"].ns) == {}
    assert ipaddress.ip_address(VIP) not in addresses_in(links["a"].ns)


def test_a_crashed_runs_vmac_is_removed_by_the_next_start(pair):
    lab, ns = pair.lab, pair.links["a"].ns
    a = pair.daemon("a", "fastvrrp", _conf())
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    a.kill()
    assert macvlans_in(lab, ns) == {"vrrp.%d" % VRID: VMAC}   # kill -9 left it behind
    a.start()
    a.wait_log(r"removing stale VMAC vrrp\.%d" % VRID)
    a.wait_log(r"\(VI_1\) Entering MASTER STATE")
    assert macvlans_in(lab, ns) == {"vrrp.%d" % VRID: VMAC}
    assert a.stop() == 0
    assert macvlans_in(lab, ns) == {}


def test_vmac_xmit_base_sends_adverts_from_the_base(pair):
    lab, links = pair.lab, pair.links
    a = pair.daemon("a", "fastvrrp", _conf("vmac_xmit_base"))
    cap = lab.capture("sw", "br0", bpf=VRRP_FILTER)
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    adverts = cap.wait_frames(2, match=_advert, timeout=5)
    assert {f.eth_src for f in adverts} == {links["a"].mac}
    assert arp_ask(lab, links["b"], VIP) == (VMAC, VMAC)
    assert a.stop() == 0
    assert macvlans_in(lab, links["a"].ns) == {}


def _answer(pair, address):
    """Who answers an ARP for `address` from b now, None while nobody does."""
    try:
        return arp_ask(pair.lab, pair.links["b"], address, timeout=0.5)
    except WaitTimeout:
        return None


def test_reload_adds_and_removes_the_vmac(pair):
    lab, ns = pair.lab, pair.links["a"].ns
    plain = config(instance_block(vrid=VRID, priority=200, vips=(VIP + "/24",)))
    a = pair.daemon("a", "fastvrrp", plain)
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    assert macvlans_in(lab, ns) == {}
    # the instance changed (use_vmac): it restarts on a new VMAC
    a.write_config(_conf())
    a.send_signal(signal.SIGHUP)
    wait_for(lambda: macvlans_in(lab, ns) == {"vrrp.%d" % VRID: VMAC}, 10, what="the VMAC")
    wait_for(lambda: _answer(pair, VIP) == (VMAC, VMAC), 10,
             what="the VIP answering from the VMAC")
    # and back: the VMAC goes once its instance let go of it
    a.write_config(plain)
    a.send_signal(signal.SIGHUP)
    wait_for(lambda: macvlans_in(lab, ns) == {}, 10, what="the VMAC removed")
    base = pair.links["a"].mac
    wait_for(lambda: _answer(pair, VIP) == (base, base), 10, what="the VIP on eth0")
    assert a.stop() == 0


def test_ipv6_vmac_adverts_leave_with_the_ipv6_virtual_mac(pair):
    # RFC 5798 §7.3: 00-00-5E-00-02-{VRID} for IPv6; the backup hears the master through it
    lab, links = pair.lab, pair.links
    vip6 = "fd00::100"
    vmac6 = "00:00:5e:00:02:%02x" % VRID
    a = pair.daemon("a", "fastvrrp", config(instance_block(
        vrid=VRID, priority=200, vips=(vip6 + "/64",), extra=("use_vmac",))))
    b = pair.daemon("b", "fastvrrp", config(instance_block(
        vrid=VRID, priority=100, vips=(vip6 + "/64",))))
    cap = lab.capture("sw", "br0", bpf="ip6 and ip6[6] == 112")
    a.start()
    pair.watch.wait_holders(vip6, {"a"}, timeout=10)
    assert list(macvlans_in(lab, links["a"].ns).values()) == [vmac6]
    adverts = cap.wait_frames(2, match=lambda f: f.ethertype == 0x86DD, timeout=5)
    assert {f.eth_src for f in adverts} == {vmac6}
    b.start()
    b.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    samples = pair.sample_one_holder(vip6, 1.0)
    assert all(s == {"a"} for s in samples), samples
    assert a.stop() == 0
    assert macvlans_in(lab, links["a"].ns) == {}


def test_the_vmac_deleted_under_us_is_a_fault_until_made_again(pair):
    # keepalived: the instance's interface is its VMAC; losing it is FAULT (the VIP goes
    # with the link); the VMAC is made again and the instance, priority 200, returns
    # to MASTER (the peer may hold the VIP meanwhile, for as long as that takes)
    lab, links = pair.lab, pair.links
    a = pair.daemon("a", "fastvrrp", _conf())
    b = pair.daemon("b", "fastvrrp", config(instance_block(vrid=VRID, priority=100,
                                                           vips=(VIP + "/24",))))
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    b.start()
    b.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    assert "FAULT" not in a.log()              # making the VMAC is no fault
    ipr = lab.iproute(links["a"].ns)
    since = time.monotonic_ns()
    ipr.link("del", index=ipr.link_lookup(ifname="vrrp.%d" % VRID)[0])
    a.wait_log(r"\(VI_1\) Entering FAULT STATE")
    pair.watch.wait_change("a", VIP, False, since, timeout=10)
    pair.watch.wait_change("a", VIP, True, since, timeout=15)
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    assert ipr.link_lookup(ifname="vrrp.%d" % VRID), "the VMAC was not made again"
    assert a.stop() == 0
