"""fastvrrp and the real keepalived in one VRRP group (issue 4, "Interop").

The matrix: VRRPv2 with PASS authentication (advert_int 1, RFC 3768), VRRPv3
over IPv4 at advert_int 0.1 (RFC 5798), VRRPv3 over IPv6 (link-local sources,
ff02::12), and unicast (unicast_src_ip / unicast_peer); each with fastvrrp as
the higher priority and keepalived as the lower, and the other way round.
Each case:
  1. the higher priority holds the VIP (RFC 5798 §6.4.2), and exactly one node
     holds it over 3 s of sampling;
  2. the holder is powered off (SIGKILL, link down): the other node takes the
     VIP after Master_Down_Interval (RFC 5798 §6.4.2); the measured time is
     printed next to 3 * advert_int + Skew_Time (FAILOVER lines, also
     appended to $FASTVRRP_FAILOVER_LOG);
  3. the holder returns and preempts (RFC 5798 §6.4.2 Preempt_Mode) - or,
     with nopreempt, does not;
  4. a clean stop of the holder sends priority 0 and the other node takes over
     within Skew_Time + 50 ms (RFC 5798 §6.4.3, §6.4.2).
Equal priorities: the higher primary address stays master, whichever
implementation has it (RFC 5798 §6.4.3).

keepalived missing: skipped, or failed with FASTVRRP_REQUIRE_INTEROP=1 (CI).
"""

import ipaddress
import time

import pytest

from engine_lab import (SKEW_SLACK_MS, config, instance_block, master_down_s, report,
                        require_keepalived, skew_time_s)

pytestmark = [pytest.mark.interop, pytest.mark.netns, pytest.mark.timeout(150)]

HIGH, LOW = 200, 100
CASES = {
    "v2-pass": dict(version=2, adv=1.0, vip="10.0.0.100/24", auth_pass="1111"),
    "v3-ipv4": dict(version=3, adv=0.1, vip="10.0.0.100/24"),
    "v3-ipv6": dict(version=3, adv=0.1, vip="fd00::100/64"),
    "unicast": dict(version=3, adv=0.1, vip="10.0.0.100/24", unicast=True),
}
ROLES = [pytest.param(("fastvrrp", "keepalived"), id="fastvrrp-high"),
         pytest.param(("keepalived", "fastvrrp"), id="keepalived-high")]


def _block(case, links, node, other, priority, **kw):
    c = CASES[case]
    extra = {}
    if c.get("unicast"):
        extra = dict(unicast_src=links[node].ip4, peers=(links[other].ip4,))
    adv = c["adv"]
    return config(instance_block(
        priority=priority, version=c["version"], advert_int=("%g" % adv),
        vips=(c["vip"],), auth_pass=c.get("auth_pass"), **extra, **kw))



def _daemons(pair, links, case, kinds, priorities=(HIGH, LOW), **kw):
    a = pair.daemon("a", kinds[0], _block(case, links, "a", "b", priorities[0], **kw))
    b = pair.daemon("b", kinds[1], _block(case, links, "b", "a", priorities[1], **kw))
    return a, b


def _vip(case):
    return str(ipaddress.ip_interface(CASES[case]["vip"]).ip)


def _one_holder(pair, vip, node, seconds=3.0):
    samples = pair.sample_one_holder(vip, seconds)
    assert all(s == {node} for s in samples), samples


@pytest.mark.parametrize("kinds", ROLES)
@pytest.mark.parametrize("case", list(CASES))
def test_interop_election_failover_preemption_and_clean_stop(pair, case, kinds):
    require_keepalived()
    lab, links = pair.lab, pair.links
    c = CASES[case]
    version, adv, vip = c["version"], c["adv"], _vip(case)
    a, b = _daemons(pair, links, case, kinds)
    b.start()
    a.start()
    # 1. the higher priority holds the VIP, and only it
    pair.watch.wait_holders(vip, {"a"}, timeout=5 * adv + 10)
    _one_holder(pair, vip, "a")

    # 2. power off: SIGKILL (no priority 0, the VIP stays on it), link down
    t0 = time.monotonic_ns()
    a.kill()
    pair.set_link("a", False)
    t_b = pair.watch.wait_change("b", vip, True, t0, timeout=5 * adv + 5)
    report({"test": "interop failover", "case": case, "holder": kinds[0], "taker": kinds[1],
            "advert_int_s": adv, "measured_ms": round((t_b - t0) / 1e6, 1),
            "expected_ms": round(master_down_s(version, LOW, adv) * 1000, 1)})

    # 3. it returns (its stale VIP removed at start) and preempts
    t1 = time.monotonic_ns()
    pair.set_link("a", True)
    a.start()
    t_a = pair.watch.wait_change("a", vip, True, t1, timeout=5 * adv + 10)
    pair.watch.wait_holders(vip, {"a"}, timeout=2 * adv + 5)
    report({"test": "interop preemption", "case": case, "holder": kinds[1],
            "preempter": kinds[0], "advert_int_s": adv,
            "measured_from_start_ms": round((t_a - t1) / 1e6, 1),
            "master_down_ms": round(master_down_s(version, HIGH, adv) * 1000, 1)})

    # 4. clean stop: priority 0, the other takes over within Skew_Time + 50 ms
    t2 = time.monotonic_ns()
    assert a.stop() == 0, a.log()
    t_b2 = pair.watch.wait_change("b", vip, True, t2, timeout=5)
    handover_ms = (t_b2 - t2) / 1e6
    skew_ms = skew_time_s(version, LOW, adv) * 1000
    report({"test": "interop priority 0", "case": case, "stopping": kinds[0],
            "taker": kinds[1], "advert_int_s": adv, "measured_ms": round(handover_ms, 1),
            "skew_ms": round(skew_ms, 1)})
    assert handover_ms <= skew_ms + SKEW_SLACK_MS, (handover_ms, skew_ms)
    assert pair.watch.holders(vip) == {"b"}
    assert b.stop() == 0, b.log()
    pair.watch.wait_holders(vip, set(), timeout=5)


@pytest.mark.parametrize("kinds", ROLES)
def test_interop_nopreempt_the_returning_node_stays_backup(pair, kinds):
    require_keepalived()
    lab, links = pair.lab, pair.links
    case, adv = "v3-ipv4", CASES["v3-ipv4"]["adv"]
    vip = _vip(case)
    a, b = _daemons(pair, links, case, kinds, nopreempt=True)
    a.start()
    pair.watch.wait_holders(vip, {"a"}, timeout=10)
    b.start()
    b.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    t0 = time.monotonic_ns()
    a.kill()
    pair.set_link("a", False)
    pair.watch.wait_change("b", vip, True, t0, timeout=5)
    pair.set_link("a", True)
    t1 = time.monotonic_ns()
    a.start()
    pair.watch.wait_change("a", vip, False, t1, timeout=10)       # its stale VIP goes
    # RFC 5798 §6.4.2 Preempt_Mode False: the higher priority does not take over;
    # ten of its Master_Down_Intervals pass with b the only holder
    _one_holder(pair, vip, "b", 10 * master_down_s(3, HIGH, adv) + 1)
    assert pair.watch.change("a", vip, True, t1) is None


@pytest.mark.parametrize("kinds", ROLES)
def test_interop_equal_priority_higher_address_wins(pair, kinds):
    require_keepalived()
    lab, links = pair.lab, pair.links
    case, adv = "v3-ipv4", CASES["v3-ipv4"]["adv"]
    vip = _vip(case)
    a, b = _daemons(pair, links, case, kinds, priorities=(LOW, LOW))
    # apart, both become master; together, 10.0.0.2 (b) > 10.0.0.1 (a) stays
    pair.isolate("b")
    a.start()
    b.start()
    pair.watch.wait_holders(vip, {"a", "b"}, timeout=10)
    pair.isolate("b", False)
    pair.watch.wait_holders(vip, {"b"}, timeout=5)
    _one_holder(pair, vip, "b", 10 * master_down_s(3, LOW, adv))
