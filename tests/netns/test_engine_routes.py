"""The engine applies routes, rules and static addresses (issue 5 point 5), end to end.

- static_ipaddress / static_routes / static_rules: added at start (after
  deleting a leftover of the same entry), removed at a clean stop
  (keepalived vrrp_daemon.c, reference §3.1 step 2, §3.14 step 3);
- virtual_routes / virtual_rules: added on becoming MASTER after the VIPs
  (a route with `src VIP` can only be added once the VIP is there),
  removed on leaving MASTER and at stop (reference §3.13, §3.14;
  RFC 5798 §6.4.1-§6.4.3).
"""

import ipaddress
import signal

import pytest

from fastvrrp.bench.waitfor import wait_for
from engine_lab import addresses_in, config, instance_block, routes_in, rules_in

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP = "10.0.0.100"
RTN_UNICAST, RTN_BLACKHOLE = 1, 6



STATICS = """\
static_ipaddress {
    192.168.77.1/24 dev eth0
}
static_routes {
    10.77.0.0/16 via 10.0.0.254 dev eth0
    blackhole 10.78.0.0/16 table 100 no_track
}
static_rules {
    from 10.79.0.0/16 table 100 priority 1000
}
"""


def test_statics_added_at_start_and_removed_at_stop(pair):
    lab, ns = pair.lab, pair.links["a"].ns
    # a leftover of a static route (a crashed run): deleted and added again, ours then
    lab.iproute(ns).route("add", dst="10.77.0.0/16", gateway="10.0.0.254", proto=18,
                          oif=pair.links["a"].ifindex)
    a = pair.daemon("a", "fastvrrp", STATICS + config(instance_block(priority=100)))
    a.start()
    a.wait_log(r"\(VI_1\) Entering (MASTER|BACKUP) STATE")
    assert ipaddress.ip_address("192.168.77.1") in addresses_in(ns)
    assert routes_in(lab, ns) >= {("10.77.0.0/16", RTN_UNICAST)}
    assert routes_in(lab, ns, table=100) == {("10.78.0.0/16", RTN_BLACKHOLE)}
    assert rules_in(lab, ns) == {(1000, "10.79.0.0/16", 100)}

    assert a.stop() == 0
    assert ipaddress.ip_address("192.168.77.1") not in addresses_in(ns)
    assert ("10.77.0.0/16", RTN_UNICAST) not in routes_in(lab, ns)
    assert routes_in(lab, ns, table=100) == set()
    assert rules_in(lab, ns) == set()


def _virtual(priority):
    # a route through the VIP as its source needs the VIP first (keepalived's order)
    return instance_block(priority=priority, vips=(VIP + "/24",), extra=(
        "virtual_routes {",
        "    10.88.0.0/16 src %s via 10.0.0.254 dev eth0" % VIP,
        "    unreachable 10.89.0.0/16 table 101 no_track",
        "}",
        "virtual_rules {",
        "    from %s/32 table 101 priority 2000" % VIP,
        "}"))


def _virtual_on(lab, ns):
    """What of the instance's virtual routes and rules node `ns` has."""
    return (routes_in(lab, ns) & {("10.88.0.0/16", RTN_UNICAST)},
            routes_in(lab, ns, table=101), rules_in(lab, ns))


HELD = ({("10.88.0.0/16", RTN_UNICAST)}, {("10.89.0.0/16", 7)}, {(2000, VIP + "/32", 101)})
NONE = (set(), set(), set())


def test_virtual_routes_and_rules_follow_the_master_state(pair):
    lab, links = pair.lab, pair.links
    a = pair.daemon("a", "fastvrrp", config(_virtual(100)))
    b = pair.daemon("b", "fastvrrp", config(_virtual(200)))
    a.start()
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    wait_for(lambda: _virtual_on(lab, links["a"].ns) == HELD, 5, what="a's virtual routes")

    # b preempts (RFC 5798 §6.4.2): a leaves MASTER, its routes and rules go with the VIP
    b.start()
    pair.watch.wait_holders(VIP, {"b"}, timeout=10)
    wait_for(lambda: _virtual_on(lab, links["b"].ns) == HELD, 5, what="b's virtual routes")
    a.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    wait_for(lambda: _virtual_on(lab, links["a"].ns) == NONE, 5, what="a's routes removed")

    # a clean stop of the master removes them (RFC 5798 §6.4.3); a takes over
    assert b.stop() == 0
    assert _virtual_on(lab, links["b"].ns) == NONE
    pair.watch.wait_holders(VIP, {"a"}, timeout=10)
    wait_for(lambda: _virtual_on(lab, links["a"].ns) == HELD, 5, what="a's routes again")
    assert a.stop() == 0
    assert _virtual_on(lab, links["a"].ns) == NONE


def test_reload_diffs_the_static_entries(pair):
    # keepalived §3.17: removed static entries are deleted, new ones added
    lab, ns = pair.lab, pair.links["a"].ns
    a = pair.daemon("a", "fastvrrp", STATICS + config(instance_block(priority=100)))
    a.start()
    a.wait_log(r"\(VI_1\) Entering (MASTER|BACKUP) STATE")
    a.write_config(STATICS.replace("10.77.0.0/16", "10.76.0.0/16")
                   .replace("priority 1000", "priority 1001")
                   + config(instance_block(priority=100)))
    a.send_signal(signal.SIGHUP)
    wait_for(lambda: rules_in(lab, ns) == {(1001, "10.79.0.0/16", 100)}, 10,
             what="the reloaded static rule")
    wait_for(lambda: ("10.76.0.0/16", RTN_UNICAST) in routes_in(lab, ns), 5,
             what="the reloaded static route")
    assert ("10.77.0.0/16", RTN_UNICAST) not in routes_in(lab, ns)
    assert routes_in(lab, ns, table=100) == {("10.78.0.0/16", RTN_BLACKHOLE)}   # unchanged
    assert ipaddress.ip_address("192.168.77.1") in addresses_in(ns)
    assert a.stop() == 0
    assert rules_in(lab, ns) == set() and routes_in(lab, ns, table=100) == set()
