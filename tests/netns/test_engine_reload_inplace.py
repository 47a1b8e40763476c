"""Reload in place (issue 5; keepalived-vrrp.md §3.17; keepalived 2.2.7
vrrp.c restore_vrrp_state / clear_diff_vrrp): a MASTER whose priority and
VIP list changed keeps MASTER, goes on advertising without a gap, never
removes the VIPs that stay, adds the new one, removes the old one, and
advertises the new priority and address list (RFC 5798 §6.4.3).

The VIPs are watched through netlink address events (AddressWatch), the
adverts on the switch's bridge (tcpdump).  Lab prefix "fvrl" (this task's
fvR1, as Lab names allow: lowercase letters only).
"""

import signal
import time

import pytest

from fastvrrp._packet import parse_ipv4
from fastvrrp.bench.lab import Lab
from fastvrrp.bench.waitfor import wait_for

from engine_lab import VrrpPair, config, instance_block

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP1, VIP2, VIP3, VIP4 = "10.0.0.101", "10.0.0.102", "10.0.0.103", "10.0.0.104"
ADVERT_INT_S = 1.0


def _lab_pair():
    lab = Lab("fvrl")
    try:
        links = lab.star(("a", "b"))
        made = VrrpPair(lab, {node: node_links[0] for node, node_links in links.items()})
    except BaseException:
        lab.close()
        raise
    return lab, made


@pytest.fixture(name="lab_pair")
def _lab_pair_fixture():
    import os
    if os.geteuid() != 0:
        pytest.skip("network-namespace labs need root")
    lab, made = _lab_pair()
    try:
        yield made
    finally:
        made.close()
        print(made.logs())
        lab.close()


def _conf(priority, vips):
    return config(instance_block("VI_1", vrid=51, priority=priority, state="MASTER",
                                 advert_int="1", vips=tuple(v + "/24" for v in vips)))


def _adverts(frames):
    """(time s, priority, addresses) of the VRRP adverts captured, in order."""
    out = []
    for frame in frames:
        payload = frame.payload
        if frame.ethertype != 0x0800 or len(payload) < 20 or payload[9] != 112:
            continue
        adv = parse_ipv4(bytes(payload))
        out.append((frame.ts, adv.priority, tuple(str(a) for a in adv.addresses)))
    return out


def test_master_reload_in_place_keeps_state_vips_and_adverts(lab_pair):
    pair = lab_pair
    lab = pair.lab
    a = pair.daemon("a", "fastvrrp", _conf(150, (VIP1, VIP2, VIP3)))
    a.start()
    for vip in (VIP1, VIP2, VIP3):
        pair.watch.wait_holders(vip, {"a"}, timeout=15)
    cap = lab.capture("sw", "br0", bpf="ip proto 112")
    cap.wait_frames(2, timeout=5)                      # the steady state before the reload

    t0 = time.monotonic_ns()
    a.write_config(_conf(180, (VIP1, VIP2, VIP4)))
    a.send_signal(signal.SIGHUP)
    a.wait_log(r"Reload: 0 kept, 0 restarted, 0 added, 0 removed, 1 reconfigured in place")
    pair.watch.wait_holders(VIP4, {"a"}, timeout=10)   # the new VIP appears
    pair.watch.wait_change("a", VIP3, False, t0, timeout=10)   # the removed one goes

    def new_adverts():
        got = [x for x in _adverts(cap.frames()) if x[1] == 180]
        return got if len(got) >= 3 else None
    wait_for(new_adverts, 10, what="three adverts with the new priority")
    adverts = _adverts(cap.stop())

    # the VIPs that stay were never removed, not even for a moment (netlink events)
    assert pair.watch.changes(VIP1, t0) == []
    assert pair.watch.changes(VIP2, t0) == []
    # no state change: MASTER was entered once, before the reload
    log = a.log(whole=True)
    assert log.count("Entering MASTER STATE") == 1
    after = log.split("Reloading", 1)[1]
    assert "(VI_1) reconfigured in place (state MASTER kept)" in after
    assert "Entering" not in after
    # the wire: the old adverts, then the new priority and address list
    old = [x for x in adverts if x[1] == 150]
    new = [x for x in adverts if x[1] == 180]
    assert old and new and old[-1][0] <= new[0][0]
    assert {x[2] for x in old} == {(VIP1, VIP2, VIP3)}
    assert {x[2] for x in new} == {(VIP1, VIP2, VIP4)}
    assert {x[1] for x in adverts} == {150, 180}       # never a priority-0 release
    # no gap on the wire beyond one Advertisement_Interval (plus scheduling slack)
    gaps = [b[0] - a_[0] for a_, b in zip(adverts, adverts[1:])]
    assert max(gaps) < ADVERT_INT_S * 1.5, gaps
    assert a.stop() == 0
