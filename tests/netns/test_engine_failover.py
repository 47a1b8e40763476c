"""fastvrrp against fastvrrp in a lab: who holds the VIP, failover, return, clean stop.

Issue 4 (engine): master/backup (RFC 5798 §6.4.1-§6.4.3), the VIP only on the
holder, failover when the master is killed and its link goes down
(Master_Down_Interval), preemption when it returns (RFC 5798 §6.4.2
Preempt_Mode), gratuitous ARP after each takeover (RFC 5798 §6.4.2), the
priority-0 handover of a clean stop within Skew_Time + 50 ms (RFC 5798 §6.4.3,
§6.4.2 "set the Master_Down_Timer to Skew_Time"), nothing left behind after
a stop, and stale VIPs of a crashed run removed at start (keepalived §3.1).
VRRPv3 at advert_int 0.1 keeps it short.
"""

import ipaddress
import time

import pytest

from engine_lab import (GARP_FILTER, SKEW_SLACK_MS, announced, config, instance_block,
                        master_down_s, report, skew_time_s)

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP = "10.0.0.100"
ADV = 0.1



def _garp_from(mac, since_ts=0.0):
    """A capture match: a gratuitous ARP for the VIP from `mac` (RFC 5798 §6.4.2)."""
    vip = ipaddress.ip_address(VIP)
    return lambda frame: frame.ts >= since_ts and announced(frame) == (mac, vip)


def test_master_backup_failover_return_and_clean_stop(pair):
    lab, links = pair.lab, pair.links
    a = pair.daemon("a", "fastvrrp", config(instance_block(priority=200, vips=(VIP + "/24",))))
    b = pair.daemon("b", "fastvrrp", config(instance_block(priority=100, vips=(VIP + "/24",))))
    cap = lab.capture("sw", "br0", bpf=GARP_FILTER)
    b.start()
    a.start()
    # RFC 5798 §6.4.2: the higher priority becomes master; the VIP is on it alone
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    a.wait_log(r"\(VI_1\) Entering MASTER STATE")
    b.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    samples = pair.sample_one_holder(VIP, 1.0)
    assert all(s == {"a"} for s in samples), samples
    # RFC 5798 §6.4.2: gratuitous ARP from the new master's MAC (keepalived repeats 5)
    cap.wait_frames(5, match=_garp_from(links["a"].mac), timeout=5)

    # a is powered off: killed (no priority 0, its VIP left behind), its link down
    t0 = time.monotonic_ns()
    wall0 = time.time()
    a.kill()
    pair.set_link("a", False)
    assert pair.watch.holders(VIP) == {"a"}
    t_b = pair.watch.wait_change("b", VIP, True, t0, timeout=5)
    failover_ms = (t_b - t0) / 1e6
    expected_ms = master_down_s(3, 100, ADV) * 1000
    report({"test": "fastvrrp-fastvrrp failover", "version": 3, "advert_int": ADV,
            "measured_ms": round(failover_ms, 1), "master_down_ms": round(expected_ms, 1)})
    b.wait_log(r"\(VI_1\) Entering MASTER STATE")
    cap.wait_frames(5, match=_garp_from(links["b"].mac, wall0), timeout=5)

    # a comes back: its stale VIP goes at start, then it preempts b (priority 200 > 100)
    t1 = time.monotonic_ns()
    pair.set_link("a", True)
    a.start()
    pair.watch.wait_change("a", VIP, False, t1, timeout=10)
    a.wait_log(r"removing stale VIP 10\.0\.0\.100/24")
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    b.wait_log(r"Master received advert from 10\.0\.0\.1 with higher priority 200, ours 100")

    # clean stop: priority 0, b takes over after Skew_Time (RFC 5798 §6.4.2)
    t2 = time.monotonic_ns()
    assert a.stop() == 0
    t_b2 = pair.watch.wait_change("b", VIP, True, t2, timeout=5)
    handover_ms = (t_b2 - t2) / 1e6
    skew_ms = skew_time_s(3, 100, ADV) * 1000
    report({"test": "fastvrrp-fastvrrp priority 0", "version": 3, "advert_int": ADV,
            "measured_ms": round(handover_ms, 1), "skew_ms": round(skew_ms, 1)})
    assert handover_ms <= skew_ms + SKEW_SLACK_MS, (handover_ms, skew_ms)
    assert pair.watch.holders(VIP) == {"b"}
    assert b.stop() == 0
    pair.watch.wait_holders(VIP, set(), timeout=5)


def test_nopreempt_keeps_the_running_master(pair):
    block = dict(vips=(VIP + "/24",), nopreempt=True)
    a = pair.daemon("a", "fastvrrp", config(instance_block(priority=200, **block)))
    b = pair.daemon("b", "fastvrrp", config(instance_block(priority=100, **block)))
    b.start()
    pair.watch.wait_holders(VIP, {"b"}, timeout=10)
    t0 = time.monotonic_ns()
    a.start()
    a.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    # RFC 5798 §6.4.2 Preempt_Mode False: a higher priority backup does not take over.
    # Ten Master_Down_Intervals of a (0.32 s each) pass without a change.
    samples = pair.sample_one_holder(VIP, 10 * master_down_s(3, 200, ADV))
    assert all(s == {"b"} for s in samples), samples
    assert pair.watch.changes(VIP, t0) == []
    # ... but it does take over when b stops
    b.stop()
    pair.watch.wait_holders(VIP, {"a"}, timeout=5)


def test_equal_priority_the_higher_primary_address_wins(pair):
    a = pair.daemon("a", "fastvrrp", config(instance_block(priority=100, vips=(VIP + "/24",))))
    b = pair.daemon("b", "fastvrrp", config(instance_block(priority=100, vips=(VIP + "/24",))))
    # apart, both become master ...
    pair.isolate("b")
    a.start()
    b.start()
    pair.watch.wait_holders(VIP, {"a", "b"}, timeout=10)
    # ... together, RFC 5798 §6.4.3: equal priority, the higher primary address
    # (10.0.0.2 > 10.0.0.1) stays master, the other yields
    pair.isolate("b", False)
    pair.watch.wait_holders(VIP, {"b"}, timeout=5)
    a.wait_log(r"Master received advert from 10\.0\.0\.2 with same priority 100 but higher IP "
               r"address than ours")
    samples = pair.sample_one_holder(VIP, 10 * master_down_s(3, 100, ADV))
    assert all(s == {"b"} for s in samples), samples


def test_stale_vips_of_a_crashed_run_are_removed_at_start(pair):
    a = pair.daemon("a", "fastvrrp", config(instance_block(priority=100, vips=(VIP + "/24",))))
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    a.kill()
    assert pair.watch.holders(VIP) == {"a"}          # kill -9 leaves it
    # restart with the same VIP: removed at start (keepalived §3.1), re-added as master
    t0 = time.monotonic_ns()
    a.start()
    t_del = pair.watch.wait_change("a", VIP, False, t0, timeout=10)
    t_add = pair.watch.wait_change("a", VIP, True, t_del, timeout=10)
    assert t_add - t_del >= 3 * ADV * 1e9 * 0.9      # as a backup first: Master_Down_Interval
    a.kill()
    # restart with another VIP: the old one still goes (our IFA_PROTO mark)
    other = "10.0.0.101"
    a.write_config(config(instance_block(priority=100, vips=(other + "/24",))))
    t1 = time.monotonic_ns()
    a.start()
    pair.watch.wait_change("a", VIP, False, t1, timeout=10)
    pair.watch.wait_holders(other, {"a"}, timeout=10)
    a.wait_log(r"removing stale address 10\.0\.0\.100/24")
    assert a.stop() == 0
    pair.watch.wait_holders(other, set(), timeout=5)
    assert pair.watch.holders(VIP) == set()
