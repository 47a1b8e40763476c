"""The machine's sync-group hooks, one member at a time (events.py Sync*,
actions.py MasterWanted / FaultRecovered).  The group logic is in
test_sync_group.py; here each event's effect on one machine."""

import pytest
from vrrp_harness import PEER_HIGH, Adapter, advert, params, rendered

from fastvrrp.vrrp import (FaultCleared, FaultSet, InstanceParams, Startup, State,
                           SyncForceBackup, SyncForceFault, SyncGoMaster, SyncHoldBackup,
                           SyncLeaveFault, SyncStartup, TimerKind, VrrpMachine)

S = 1_000_000_000
MD = 3_609_375_000   # RFC 3768 §6.1 Master_Down_Interval, priority 100, 1 s


def member(**kw):
    return Adapter(VrrpMachine(params(sync_group="G", **kw)))


def started(**kw):
    a = member(**kw)
    a.feed(0, SyncStartup(State.BACKUP))
    return a


def master(**kw):
    a = started(**kw)
    a.fire(TimerKind.MASTER_DOWN)
    a.feed(a.now, SyncGoMaster())
    assert a.machine.state == State.MASTER
    return a


def test_a_machine_outside_a_group_refuses_the_groups_events():
    m = VrrpMachine(params())
    for event in (SyncStartup(State.BACKUP), SyncGoMaster(), SyncHoldBackup(), SyncForceBackup(),
                  SyncForceFault(), SyncLeaveFault()):
        with pytest.raises(ValueError, match=r"\(VI_1\) is not a sync group member"):
            m.handle(0, event)


def test_sync_startup_backup_is_startup():
    a, b = Adapter(VrrpMachine(params())), member()
    assert rendered(a.feed(0, Startup(5 * S))) == rendered(b.feed(0, SyncStartup(State.BACKUP, 5 * S)))
    assert a.timers == b.timers


def test_sync_startup_fault_and_init_hold_a_member_without_faults():
    a = member()
    assert rendered(a.feed(0, SyncStartup(State.FAULT))) == [
        ["RemoveVips", True], ["Log", 20, "(VI_1) entering FAULT state"],
        ["StateChanged", "INIT", "FAULT"], ["Notify", "FAULT", 100]]
    assert a.machine.wantstate == State.FAULT and a.timers == {}
    b = member(priority=255)
    assert rendered(b.feed(0, SyncStartup(State.INIT))) == [
        ["RemoveVips", True], ["Log", 20, "(VI_1) Entering FAULT STATE (init)"],
        ["StateChanged", "INIT", "FAULT"]]
    assert b.machine.wantstate == State.MASTER           # kept, as for a pending tracker


def test_a_member_asks_instead_of_becoming_master():
    a = started(log_detail=True)
    out = a.fire(TimerKind.MASTER_DOWN)
    assert rendered(out) == [["Log", 20, "(VI_1) Receive advertisement timeout"], ["MasterWanted"]]
    assert a.machine.state == State.BACKUP and a.machine.wantstate == State.MASTER
    assert a.timers == {}


def test_hold_rearms_a_full_master_down_interval_and_keeps_wanting_master():
    a = started()
    a.fire(TimerKind.MASTER_DOWN)
    assert rendered(a.feed(MD, SyncHoldBackup())) == [["ArmTimer", "MASTER_DOWN", 2 * MD]]
    assert a.machine.wantstate == State.MASTER
    m = master()
    assert m.feed(m.now, SyncHoldBackup()) == []          # only a BACKUP waits


def test_go_master_from_backup_is_rfc_5798_transition_to_master():
    a = started()
    out = a.feed(S, SyncGoMaster())
    assert rendered(out)[:4] == [["CancelTimer", "MASTER_DOWN"], ["SendAdvert", 100],
                                 ["Log", 20, "(VI_1) Entering MASTER STATE"],
                                 ["StateChanged", "BACKUP", "MASTER"]]
    assert a.machine.vips_set and a.machine.wantstate == State.MASTER


def test_go_master_from_a_held_fault_but_not_from_a_real_one():
    a = member()
    a.feed(0, SyncStartup(State.FAULT))
    a.feed(S, SyncGoMaster())
    assert a.machine.state == State.MASTER
    b = member()
    b.feed(0, FaultSet("track_interface eth0"))
    b.feed(0, SyncStartup(State.FAULT))
    assert b.feed(S, SyncGoMaster()) == [] and b.machine.state == State.FAULT
    c = member()
    assert c.feed(0, SyncGoMaster()) == [] and c.machine.state == State.INIT


def test_force_backup_from_master_sends_no_priority_0():
    m = master()
    out = m.feed(m.now + S, SyncForceBackup())
    assert ["SendAdvert", 0] not in rendered(out)
    assert ["Log", 20, "(VI_1) Entering BACKUP STATE"] in rendered(out)
    assert m.machine.state == State.BACKUP and TimerKind.MASTER_DOWN in m.timers


def test_force_backup_leaves_a_held_fault_but_not_a_real_one():
    a = member()
    a.feed(0, SyncStartup(State.FAULT))
    assert rendered(a.feed(S, SyncForceBackup())) == [
        ["Log", 20, "(VI_1) Entering BACKUP STATE"], ["StateChanged", "FAULT", "BACKUP"],
        ["Notify", "BACKUP", 100], ["ArmTimer", "MASTER_DOWN", S + MD]]
    b = member()
    b.feed(0, FaultSet("x"))
    b.feed(0, SyncStartup(State.FAULT))
    assert b.feed(S, SyncForceBackup()) == [] and b.machine.state == State.FAULT


def test_force_fault_from_master_sends_one_priority_0_advert():
    m = master()
    out = rendered(m.feed(m.now + S, SyncForceFault()))
    assert out.count(["SendAdvert", 0]) == 1
    assert out[:3] == [["Log", 20, "(VI_1) Entering FAULT STATE"], ["StateChanged", "MASTER", "FAULT"],
                       ["SendAdvert", 0]]
    assert ["RemoveVips", False] in out and ["Notify", "FAULT", 100] in out
    assert m.timers == {} and not m.machine.vips_set


def test_force_fault_from_backup_is_silent_but_notified():
    a = started()
    assert rendered(a.feed(S, SyncForceFault())) == [
        ["StateChanged", "BACKUP", "FAULT"], ["Notify", "FAULT", 100], ["CancelTimer", "MASTER_DOWN"]]
    assert a.feed(S, SyncForceFault()) == []              # already FAULT


def test_a_member_whose_faults_clear_reports_and_waits():
    a = started()
    a.feed(S, FaultSet("track_interface eth0"))
    out = a.feed(2 * S, FaultCleared("track_interface eth0"))
    assert rendered(out) == [["FaultRecovered"]]
    assert a.machine.state == State.FAULT and a.machine.wantstate == State.BACKUP
    out = a.feed(3 * S, SyncLeaveFault())
    assert rendered(out)[:3] == [["Log", 20, "(VI_1) Entering BACKUP STATE"],
                                 ["StateChanged", "FAULT", "BACKUP"], ["Notify", "BACKUP", 100]]


def test_leave_fault_needs_every_fault_gone():
    a = started()
    a.feed(S, FaultSet("a"))
    a.feed(S, FaultSet("b"))
    assert a.feed(2 * S, FaultCleared("a")) == []         # "b" still active: nothing to report
    assert a.feed(2 * S, SyncLeaveFault()) == [] and a.machine.state == State.FAULT


def test_leave_fault_master_ok_decides_for_an_owner_wanting_master():
    def owner_after_pending():
        a = member(priority=255)
        a.feed(0, FaultSet("chk", pending=True))
        a.feed(0, SyncStartup(State.INIT))
        assert rendered(a.feed(S, FaultCleared("chk"))) == [["FaultRecovered"]]
        assert a.machine.wantstate == State.MASTER
        return a
    yes = owner_after_pending()
    yes.feed(S, SyncLeaveFault(master_ok=True))
    assert yes.machine.state == State.MASTER
    no = owner_after_pending()
    no.feed(S, SyncLeaveFault(master_ok=False))
    assert no.machine.state == State.BACKUP and no.machine.wantstate == State.MASTER


def test_accepting_its_master_again_makes_a_waiting_member_want_backup():
    a = started()
    a.fire(TimerKind.MASTER_DOWN)
    a.feed(MD, SyncHoldBackup())
    a.feed(MD + S, advert(src=PEER_HIGH, priority=150))
    assert a.machine.wantstate == State.BACKUP


def test_faulted_counts_real_faults_only():
    m = VrrpMachine(params())
    m.handle(0, FaultSet("chk", pending=True))
    assert m.faults == {"chk"} and not m.faulted
    m.handle(0, FaultSet("eth0"))
    assert m.faulted


@pytest.mark.parametrize("build, match", [
    (lambda: SyncStartup(State.STOP), "INIT, BACKUP, MASTER or FAULT"),
    (lambda: SyncStartup("BACKUP"), "INIT, BACKUP, MASTER or FAULT"),
    (lambda: SyncStartup(1), "INIT, BACKUP, MASTER or FAULT"),
    (lambda: SyncStartup(State.BACKUP, -1), "non-negative"),
    (lambda: SyncLeaveFault("yes"), "bool"),
    (lambda: InstanceParams(name="VI_1", vrid=1, sync_group=""), "sync_group"),
    (lambda: InstanceParams(name="VI_1", vrid=1, sync_group=5), "sync_group"),
])
def test_bad_sync_events_and_params_are_refused(build, match):
    with pytest.raises(ValueError, match=match):
        build()
