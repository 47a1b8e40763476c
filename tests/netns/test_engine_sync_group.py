"""A vrrp_sync_group run by the engine, fastvrrp against fastvrrp (keepalived-vrrp.md §3.15).

Two instances on two interfaces in one group: a member's interface going down
takes the whole group to FAULT (both VIPs leave the master, with priority-0
adverts, RFC 5798 §6.4.3), the peer takes both; when the interface returns the
group recovers together and, preempting, takes both back.  The group's own
notify (`notify` with `GROUP NAME STATE 0`) runs for each group transition.
"""

import os
import time

import pytest

from engine_lab import VrrpPair, config, instance_block

pytestmark = [pytest.mark.netns, pytest.mark.timeout(90)]

VIP1, VIP2 = "10.0.0.100", "10.0.1.100"


@pytest.fixture
def pair(lab):
    links = lab.star(("a", "b"), links_per_node=2)
    made = VrrpPair(lab, {node: ls[0] for node, ls in links.items()})
    made.second = {node: ls[1] for node, ls in links.items()}
    yield made
    made.close()
    print(made.logs())


def _group(priority, notify=None):
    head = "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n"
    if notify:
        head += "    notify \"%s\"\n" % notify
    head += "}\n"
    return head + config(
        instance_block("VI_1", vrid=51, priority=priority, vips=(VIP1 + "/24",)),
        instance_block("VI_2", vrid=52, priority=priority, interface="eth1",
                       vips=(VIP2 + "/24",)))


def test_a_member_fault_moves_the_whole_group(pair):
    lab = pair.lab
    notify_log = lab.path("group.log")
    notify = lab.path("group.sh")
    with open(notify, "w") as fh:
        fh.write("#!/bin/sh\necho \"$@\" >> '%s'\n" % notify_log)
    os.chmod(notify, 0o755)
    a = pair.daemon("a", "fastvrrp", _group(200, notify))
    b = pair.daemon("b", "fastvrrp", _group(100))
    a.start()
    b.start()
    pair.watch.wait_holders(VIP1, {"a"}, timeout=10)
    pair.watch.wait_holders(VIP2, {"a"}, timeout=10)
    a.wait_log(r"VRRP_Group\(G1\) Syncing instances to MASTER state")

    # a's eth1 goes down: VI_2 FAULT, and with it VI_1: b takes both
    t0 = time.monotonic_ns()
    second = pair.second["a"]
    lab.iproute(second.ns).link("set", index=second.ifindex, state="down")
    a.wait_log(r"\(VI_2\) Entering FAULT STATE")
    a.wait_log(r"VRRP_Group\(G1\) Syncing instances to FAULT state")
    pair.watch.wait_change("b", VIP1, True, t0, timeout=5)
    pair.watch.wait_change("b", VIP2, True, t0, timeout=5)
    pair.watch.wait_holders(VIP1, {"b"}, timeout=5)
    pair.watch.wait_holders(VIP2, {"b"}, timeout=5)

    # it comes back: the group recovers and a preempts both
    t1 = time.monotonic_ns()
    lab.iproute(second.ns).link("set", index=second.ifindex, state="up")
    pair.watch.wait_change("a", VIP1, True, t1, timeout=10)
    pair.watch.wait_change("a", VIP2, True, t1, timeout=10)
    pair.watch.wait_holders(VIP1, {"a"}, timeout=5)
    pair.watch.wait_holders(VIP2, {"a"}, timeout=5)
    assert a.stop() == 0
    with open(notify_log) as fh:
        lines = fh.read().splitlines()
    # keepalived §3.16: a group's generic notify gets GROUP NAME STATE 0
    assert lines == ["GROUP G1 BACKUP 0", "GROUP G1 MASTER 0", "GROUP G1 FAULT 0",
                     "GROUP G1 BACKUP 0", "GROUP G1 MASTER 0", "GROUP G1 STOP 0"], lines
