"""A sync group failing over together, keepalived 2.2.7 against our SyncGroup.

Two keepalived 2.2.7 run in a namespace lab (nodes a and b on two bridges),
each with the sync group G1 of three instances on two interfaces (VI_1 and
VI_2 on eth0, VI_3 on eth1; tests/unit/vrrp/sync_harness.py SCENARIO_*):
a is `state MASTER` at priorities 150/140/130, b `state BACKUP` at
100/90/80.  Then, on a: eth1 goes down (VI_3 FAULT, the whole group FAULT,
b takes over as a group), eth0 goes down too (VI_1, VI_2 faulty themselves:
no new notification), eth1 comes back (the group stays FAULT: VI_1 and
VI_2 are still faulty), eth0 comes back (the group comes up BACKUP and
takes MASTER back); a stops, b takes over again; b stops.

The same steps run through two simulated nodes driving our SyncGroup
(sans-IO, adverts delivered between them, timers from the actions), and
what both produce must agree:
- the FIFO lines (`vrrp_notify_fifo`): for ours, the group's actions go
  through the daemon's Notifier, which drops a member's repeat notification
  of its group's state.  Compared sync by sync (cut at each GROUP line): the
  same group lines in the same order, and between them the same instance
  lines (in a sync, which member moves first can depend on which of
  keepalived's sockets is read first);
- each member's transition log lines in order (keepalived runs with -D, our
  machines with log_detail), and the group's "Syncing" lines in order.
"""

import os
import re
import shutil
import tempfile

import pytest

from kalab import console_messages, require_keepalived
from notifylab import FifoReader

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]

_MEMBER_LINE = re.compile(r"^\((VI_\d)\) (Entering \w+ STATE(?: \(init\))?|Receive advertisement timeout"
                          r"|Backup received priority 0 advertisement|setting VIPs\.|removing VIPs\."
                          r"|sent 0 priority|Master received advert from .*)$")
_GROUP_LINE = re.compile(r"^VRRP_Group\(G1\)[: ].*$")


def _per_member(lines):
    """{member: [its transition lines]} (without "Master received advert",
    whose member depends on which socket keepalived reads first), the group's
    lines, and the number of "Master received advert" lines."""
    members, group, yielded = {}, [], 0
    for line in lines:
        m = _MEMBER_LINE.match(line)
        if m:
            if m.group(2).startswith("Master received advert"):
                yielded += 1
            else:
                members.setdefault(m.group(1), []).append(m.group(2))
        elif _GROUP_LINE.match(line):
            group.append(line)
    return members, group, yielded


def _run_keepalived(steps, conf, work):
    from fastvrrp.bench.keepalived_proc import Keepalived
    from fastvrrp.bench.lab import Lab
    from fastvrrp.bench.waitfor import wait_for

    readers, procs, logs = {}, {}, {}
    with Lab() as lab:
        lab.star(("a", "b"), links_per_node=2, ipv6=False)
        try:
            for node in ("a", "b"):
                readers[node] = FifoReader(os.path.join(work, "%s.fifo" % node), create=True)
            netlink_seen = {}
            for s in steps:
                kind, node = s[0], s[1]
                if kind == "start":
                    procs[node] = Keepalived(lab, node, conf(node, os.path.join(work, "%s.fifo" % node)),
                                             name="sync-%s" % node).start()
                    wait_for(lambda: procs[node].log().count("VRRP sockpool:") >= 2
                             or not procs[node].running(),
                             timeout=20, what="keepalived on %s opening its sockets" % node)
                    assert procs[node].running(), procs[node].log()
                elif kind == "until":
                    _, _, state, n = s
                    line = 'GROUP "G1" %s 0' % state
                    wait_for(lambda: readers[node].lines().count(line) >= n, timeout=30,
                             what="%s: %s #%d" % (node, line, n))
                elif kind == "link":
                    _, _, ifname, up = s
                    ipr = lab.iproute(node)
                    ipr.link("set", index=ipr.link_lookup(ifname=ifname)[0],
                             state="up" if up else "down")
                elif kind == "settle":
                    _, _, ifname, up = s
                    text = "Netlink reports %s %s" % (ifname, "up" if up else "down")
                    netlink_seen[text] = netlink_seen.get(text, 0) + 1
                    want = netlink_seen[text]
                    wait_for(lambda: procs[node].log().count(text) >= want, timeout=15,
                             what="%s: %s" % (node, text))
                elif kind == "stop":
                    code = procs[node].stop()
                    assert code == 0, procs[node].log()
                    logs[node] = procs[node].log()
            fifo = {node: r.lines() for node, r in readers.items()}
        finally:
            for proc in procs.values():
                if proc.running():
                    proc.stop()
            for r in readers.values():
                r.close()
    return fifo, logs


def test_a_sync_group_fails_over_together_as_keepalived_does():
    require_keepalived()
    from fastvrrp.bench.keepalived_proc import keepalived_version
    assert keepalived_version() == "2.2.7"
    from unit.vrrp.sync_harness import (SCENARIO_STEPS, notifier_lines, run_scenario,
                                        scenario_keepalived_conf, split_episodes)

    work = tempfile.mkdtemp(prefix="fastvrrp-ka-sync-")
    try:
        ka_fifo, ka_logs = _run_keepalived(SCENARIO_STEPS, scenario_keepalived_conf, work)
        nodes = run_scenario()
        for name, node in nodes.items():
            routed = [r for _, r in node.out]
            ours = notifier_lines(routed, "G1", node.group.members, work)
            assert split_episodes(ours) == split_episodes(ka_fifo[name]), (name, ours, ka_fifo[name])

            ka_members, ka_group, ka_yield = _per_member(console_messages(ka_logs[name]))
            our_lines = [r.action.text for r in routed if type(r.action).__name__ == "Log"]
            fv_members, fv_group, fv_yield = _per_member(our_lines)
            assert fv_group == ka_group, name
            assert fv_members == ka_members, name
            assert fv_yield == ka_yield, name

        # the point of the scenario, as keepalived shows it
        a = split_episodes(ka_fifo["a"])
        assert [g for _, g in a] == ['GROUP "G1" %s 0' % s for s in
                                     ("BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "STOP")]
        assert a[2][0] == ('INSTANCE "VI_1" FAULT 150', 'INSTANCE "VI_2" FAULT 140',
                           'INSTANCE "VI_3" FAULT 130')     # one interface down: all three
        b = split_episodes(ka_fifo["b"])      # b[1]: its members' start (BACKUP), then the takeover
        assert [line for line in b[1][0] if "MASTER" in line] == [
            'INSTANCE "VI_1" MASTER 100', 'INSTANCE "VI_2" MASTER 90', 'INSTANCE "VI_3" MASTER 80']
        assert b[1][1] == 'GROUP "G1" MASTER 0'
    finally:
        shutil.rmtree(work, ignore_errors=True)
