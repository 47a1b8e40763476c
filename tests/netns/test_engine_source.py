"""The source address an instance sends from (RFC 5798 §5.1.1.1; keepalived-vrrp.md §3.4,
§3.21): an interface without an IPv4 address puts the instance in FAULT until
one appears; the adverts then come from it."""

import time

import pytest

from engine_lab import config, instance_block

pytestmark = [pytest.mark.netns, pytest.mark.timeout(60)]

VIP = "10.0.0.100"



def test_no_ipv4_address_means_fault_until_one_appears(pair):
    link = pair.links["a"]
    ipr = pair.lab.iproute(link.ns)
    ipr.addr("del", index=link.ifindex, address=link.ip4, prefixlen=24)
    a = pair.daemon("a", "fastvrrp", config(instance_block(priority=150, vips=(VIP + "/24",))))
    a.start()
    a.wait_log(r"\(VI_1\) no IPv4 address for interface eth0 - entering FAULT")
    a.wait_log(r"\(VI_1\) entering FAULT state")
    t0 = time.monotonic_ns()
    ipr.addr("add", index=link.ifindex, address=link.ip4, prefixlen=24)
    a.wait_log(r"\(VI_1\) source address is now 10\.0\.0\.1")
    a.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    pair.watch.wait_change("a", VIP, True, t0, timeout=5)
    # and the other node hears its adverts: it never takes over (its
    # Master_Down_Interval is 0.36 s; a second of samples)
    b = pair.daemon("b", "fastvrrp", config(instance_block(priority=100, vips=(VIP + "/24",))))
    b.start()
    b.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    samples = pair.sample_one_holder(VIP, 1.0)
    assert all(s == {"a"} for s in samples), samples
