"""dynamic_interfaces end to end (keepalived global_defs; issue 5 point 6).

Without it a missing interface stops fastvrrp at start (keepalived exits
too); with it the instance stays in FAULT and starts once the interface
appears: here a veth named like the configured interface is created in the
node's namespace after start, and the instance becomes MASTER on it and adds
its VIP there.
"""

import ipaddress

import pytest


from engine_lab import addresses_in, config, instance_block

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP = "10.0.1.100"



def _conf(dynamic):
    return config(instance_block(vrid=63, priority=200, interface="late0",
                                 vips=(VIP + "/24",)),
                  global_defs=("dynamic_interfaces",) if dynamic else ())


def _make_late_interface(lab, node):
    ipr = lab.iproute(node)
    ipr.link("add", ifname="late0", kind="veth", peer="late0p")
    for name in ("late0", "late0p"):
        ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
    ipr.addr("add", index=ipr.link_lookup(ifname="late0")[0], address="10.0.1.1", prefixlen=24)


def test_without_dynamic_interfaces_a_missing_interface_stops_the_start(pair):
    a = pair.daemon("a", "fastvrrp", _conf(False))
    a.start()
    assert a.proc.wait(timeout=30) != 0
    assert "interface late0 does not exist" in a.log()


def test_an_instance_waits_in_fault_and_starts_when_its_interface_appears(pair):
    lab, ns = pair.lab, pair.links["a"].ns
    a = pair.daemon("a", "fastvrrp", _conf(True))
    a.start()
    a.wait_log(r"\(VI_1\) interface late0 does not exist - FAULT until it appears")
    a.wait_log(r"\(VI_1\) entering FAULT state")
    assert ipaddress.ip_address(VIP) not in addresses_in(ns)
    _make_late_interface(lab, "a")
    a.wait_log(r"\(VI_1\) interface late0 appeared - starting on it")
    a.wait_log(r"\(VI_1\) Entering MASTER STATE", timeout=15)
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    assert a.stop() == 0
    assert ipaddress.ip_address(VIP) not in addresses_in(ns)
