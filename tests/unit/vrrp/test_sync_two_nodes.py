"""Issue 5: "a sync group of three instances on two interfaces fails over
together when one member's interface goes down", sans-IO.

Two simulated routers run sync_harness's scenario (the one
tests/interop/test_sync_keepalived.py runs with keepalived 2.2.7).  The
expected FIFO lines are what keepalived 2.2.7 wrote to its
vrrp_notify_fifo for that scenario in the lab, in its order; ours go
through the daemon's Notifier, so its sync-group rule (a member's repeat
notification of its group's state is dropped) is part of the check.
"""

from sync_harness import (S, SCENARIO_STEPS, group_notify_count, log_lines, notifier_lines,
                          notifies, run_scenario, scenario_keepalived_conf)

from fastvrrp.vrrp import State

KEEPALIVED_A = [
    'GROUP "G1" BACKUP 0',
    'INSTANCE "VI_1" BACKUP 150', 'INSTANCE "VI_2" BACKUP 140', 'INSTANCE "VI_3" BACKUP 130',
    'INSTANCE "VI_3" MASTER 130', 'INSTANCE "VI_1" MASTER 150', 'INSTANCE "VI_2" MASTER 140',
    'GROUP "G1" MASTER 0',
    # eth1 down: VI_3 FAULT, and every member with it
    'INSTANCE "VI_3" FAULT 130', 'INSTANCE "VI_1" FAULT 150', 'INSTANCE "VI_2" FAULT 140',
    'GROUP "G1" FAULT 0',
    # eth0 down (nothing new), eth1 up (still FAULT), eth0 up: VI_2 recovers last
    'INSTANCE "VI_2" BACKUP 140', 'INSTANCE "VI_1" BACKUP 150', 'INSTANCE "VI_3" BACKUP 130',
    'GROUP "G1" BACKUP 0',
    'INSTANCE "VI_3" MASTER 130', 'INSTANCE "VI_1" MASTER 150', 'INSTANCE "VI_2" MASTER 140',
    'GROUP "G1" MASTER 0',
    'INSTANCE "VI_1" STOP 150', 'INSTANCE "VI_2" STOP 140', 'INSTANCE "VI_3" STOP 130',
    'GROUP "G1" STOP 0',
]
KEEPALIVED_B = [
    'GROUP "G1" BACKUP 0',
    'INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_2" BACKUP 90', 'INSTANCE "VI_3" BACKUP 80',
    'INSTANCE "VI_3" MASTER 80', 'INSTANCE "VI_1" MASTER 100', 'INSTANCE "VI_2" MASTER 90',
    'GROUP "G1" MASTER 0',
    'INSTANCE "VI_3" BACKUP 80', 'INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_2" BACKUP 90',
    'GROUP "G1" BACKUP 0',
    'INSTANCE "VI_3" MASTER 80', 'INSTANCE "VI_1" MASTER 100', 'INSTANCE "VI_2" MASTER 90',
    'GROUP "G1" MASTER 0',
    'INSTANCE "VI_1" STOP 100', 'INSTANCE "VI_2" STOP 90', 'INSTANCE "VI_3" STOP 80',
    'GROUP "G1" STOP 0',
]


def test_the_group_fails_over_together_with_keepalived_s_notifications(tmp_path):
    nodes = run_scenario()
    a, b = ([r for _, r in nodes[n].out] for n in ("a", "b"))
    assert notifier_lines(a, "G1", nodes["a"].group.members, str(tmp_path)) == KEEPALIVED_A
    assert notifier_lines(b, "G1", nodes["b"].group.members, str(tmp_path)) == KEEPALIVED_B
    # eth0 going down on a made VI_1 and VI_2 notify FAULT again; the notifier dropped both
    raw = notifies(a)
    assert raw.count(("INSTANCE", "VI_1", "FAULT", 150)) == 2
    assert KEEPALIVED_A.count('INSTANCE "VI_1" FAULT 150') == 1


def test_one_interface_down_moves_all_three_members_at_the_same_instant():
    nodes = run_scenario()
    a = nodes["a"]
    fault_times = {r.member: t for t, r in a.out
                   if type(r.action).__name__ == "StateChanged" and r.action.new == State.FAULT}
    assert set(fault_times) == {"VI_1", "VI_2", "VI_3"}
    assert len(set(fault_times.values())) == 1
    # while a was in FAULT, b took over as a group: VI_3 at its Master_Down_Interval,
    # VI_1 and VI_2 (priority 0 heard, Skew_Time over) waiting for it, then together
    b_master = [(t, r.member) for t, r in nodes["b"].out
                if type(r.action).__name__ == "StateChanged" and r.action.new == State.MASTER]
    assert [m for _, m in b_master[:3]] == ["VI_3", "VI_1", "VI_2"]
    assert len({t for t, _ in b_master[:3]}) == 1
    held = [line for line in log_lines([r for _, r in nodes["b"].out])
            if line.endswith("Receive advertisement timeout")]
    assert held[:3] == ["(VI_1) Receive advertisement timeout", "(VI_2) Receive advertisement timeout",
                        "(VI_3) Receive advertisement timeout"]


def test_the_scenario_is_the_same_for_keepalived():
    conf = scenario_keepalived_conf("a", "/run/x.fifo")
    assert "vrrp_notify_fifo /run/x.fifo" in conf and conf.count("vrrp_instance") == 3
    assert "state MASTER" in conf and "priority 130" in conf and "interface eth1" in conf
    assert [s for s in SCENARIO_STEPS if s[0] == "link"] == [
        ("link", "a", "eth1", False), ("link", "a", "eth0", False),
        ("link", "a", "eth1", True), ("link", "a", "eth0", True)]
    nodes = run_scenario()
    assert group_notify_count(nodes["a"], "MASTER") == 2 and nodes["a"].group.state == State.STOP
    assert nodes["b"].out[-1][0] < 60 * S
