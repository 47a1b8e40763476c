"""SyncGroup scenarios with exact action lists (keepalived-vrrp.md §3.15,
keepalived 2.2.7 vrrp_sync.c).  Each expected list is what keepalived does
for the same events, written out: the member's own transition first, then
the group's "Syncing" line, the other members in `group { }` order, then the
group's notify."""

import pytest
from sync_harness import S, GroupDriver, ip, member, states
from vrrp_harness import render

from fastvrrp.vrrp import (AdvertReceived, Counter, FaultCleared, FaultSet, NotifyState,
                           PriorityChanged, Routed, Shutdown, Startup, State, SyncGoMaster,
                           SyncGroup, SyncGroupError, TimerFired, TimerKind)

MD1 = 3_609_375_000   # Master_Down_Interval, priority 100, advert_int 1 s (RFC 3768 §6.1)
MD2 = 3_648_437_000   # priority 90


def rows(routed):
    return [(r.member, *render(r.action)) for r in routed]


def two(**kw):
    return GroupDriver(SyncGroup("G", [member("VI_1", 1, 100, **kw), member("VI_2", 2, 90, **kw)]))


def higher(vrid, priority=200):
    return AdvertReceived(ip("10.0.0.9"), priority, 1, (ip("10.0.0.%d" % (100 + vrid)),))


def both_master(d):
    d.start(0)
    d.fire("VI_1", TimerKind.MASTER_DOWN)
    d.fire("VI_2", TimerKind.MASTER_DOWN)
    assert states(d.group) == {"VI_1": State.MASTER, "VI_2": State.MASTER}


# ------------------------------------------------------------------ start

def test_start_notifies_the_group_backup_first_then_every_member():
    d = two()
    assert rows(d.start(0)) == [
        (None, "GroupNotify", "G", "BACKUP"),
        ("VI_1", "RemoveVips", True),
        ("VI_1", "Log", 20, "(VI_1) Entering BACKUP STATE (init)"),
        ("VI_1", "StateChanged", "INIT", "BACKUP"),
        ("VI_1", "Notify", "BACKUP", 100),
        ("VI_1", "ArmTimer", "MASTER_DOWN", MD1),
        ("VI_2", "RemoveVips", True),
        ("VI_2", "Log", 20, "(VI_2) Entering BACKUP STATE (init)"),
        ("VI_2", "StateChanged", "INIT", "BACKUP"),
        ("VI_2", "Notify", "BACKUP", 90),
        ("VI_2", "ArmTimer", "MASTER_DOWN", MD2),
    ]
    assert d.group.state == State.BACKUP


def test_state_master_of_a_non_owner_is_downgraded_for_every_member():
    # vrrp_complete_init: one member that is not an owner makes every `state
    # MASTER` a BACKUP, which waits the full Master_Down_Interval.
    g = SyncGroup("G", [member("VI_1", 1, 255, initial_state=State.MASTER),
                        member("VI_2", 2, 150, initial_state=State.MASTER)])
    assert g.downgraded == ("VI_1", "VI_2")
    d = GroupDriver(g)
    d.start(0)
    assert g.machine("VI_1").params.initial_state == State.BACKUP
    assert d.timers[("VI_1", TimerKind.MASTER_DOWN)] == 3_003_906_000   # 3 s + skew(255)
    assert d.timers[("VI_2", TimerKind.MASTER_DOWN)] == 3_414_062_000   # 3 s + skew(150)


def test_a_group_of_owners_starts_as_master_and_notifies_it():
    g = SyncGroup("G", [member("VI_1", 1, 255), member("VI_2", 2, 255)])
    assert g.downgraded == ()
    d = GroupDriver(g)
    out = d.start(0)
    assert [r for r in rows(out) if r[1] in ("Notify", "GroupNotify", "Log")] == []
    assert d.timers == {("VI_1", TimerKind.MASTER_DOWN): 1000, ("VI_2", TimerKind.MASTER_DOWN): 1000}
    out = d.fire("VI_1", TimerKind.MASTER_DOWN)
    # deliberate difference: 2.2.7 lets each owner go alone and never notifies the group
    assert [r for r in rows(out) if r[1] in ("StateChanged", "Log", "GroupNotify")] == [
        ("VI_1", "Log", 20, "(VI_1) Entering MASTER STATE"),
        ("VI_1", "StateChanged", "BACKUP", "MASTER"),
        (None, "Log", 20, "VRRP_Group(G) Syncing instances to MASTER state"),
        ("VI_2", "Log", 20, "(VI_2) Entering MASTER STATE"),
        ("VI_2", "StateChanged", "BACKUP", "MASTER"),
        (None, "GroupNotify", "G", "MASTER"),
    ]
    assert ("VI_2", TimerKind.MASTER_DOWN) not in d.timers


def test_a_member_fault_known_at_start_starts_the_whole_group_in_fault():
    d = two()
    d.feed(0, "VI_2", FaultSet("track_interface eth1"))
    assert rows(d.start(0)) == [
        (None, "Log", 20, "VRRP_Group(G): Syncing VI_2 to FAULT state"),
        ("VI_1", "RemoveVips", True),
        ("VI_1", "Log", 20, "(VI_1) entering FAULT state"),
        ("VI_1", "StateChanged", "INIT", "FAULT"),
        ("VI_1", "Notify", "FAULT", 100),
        ("VI_2", "RemoveVips", True),
        ("VI_2", "Log", 20, "(VI_2) entering FAULT state"),
        ("VI_2", "StateChanged", "INIT", "FAULT"),
        ("VI_2", "Notify", "FAULT", 90),
        (None, "GroupNotify", "G", "FAULT"),
    ]
    # the fault clears: the group comes up as BACKUP, the faulty member first
    out = d.feed(S, "VI_2", FaultCleared("track_interface eth1"))
    assert [r for r in rows(out) if r[1] in ("Log", "Notify", "GroupNotify")] == [
        ("VI_2", "Log", 20, "(VI_2) Entering BACKUP STATE"),
        ("VI_2", "Notify", "BACKUP", 90),
        (None, "Log", 20, "VRRP_Group(G) Syncing instances to BACKUP state"),
        ("VI_1", "Log", 20, "(VI_1) Entering BACKUP STATE"),
        ("VI_1", "Notify", "BACKUP", 100),
        (None, "GroupNotify", "G", "BACKUP"),
    ]
    assert d.timers == {("VI_1", TimerKind.MASTER_DOWN): S + MD1,
                        ("VI_2", TimerKind.MASTER_DOWN): S + MD2}


def test_a_tracker_that_has_not_reported_holds_every_member_silently():
    d = two()
    d.feed(0, "VI_1", FaultSet("track_script chk", pending=True))
    out = d.start(0)
    assert [r for r in rows(out) if r[1] in ("Log", "Notify", "GroupNotify")] == [
        ("VI_1", "Log", 20, "(VI_1) Entering FAULT STATE (init)"),
        ("VI_2", "Log", 20, "(VI_2) Entering FAULT STATE (init)"),
    ]
    assert d.group.state == State.INIT and d.timers == {}
    out = d.feed(S, "VI_1", FaultCleared("track_script chk"))
    assert [r for r in rows(out) if r[1] in ("Notify", "GroupNotify")] == [
        ("VI_1", "Notify", "BACKUP", 100), ("VI_2", "Notify", "BACKUP", 90),
        (None, "GroupNotify", "G", "BACKUP")]
    assert states(d.group) == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}


def test_a_tracker_whose_first_result_fails_takes_the_held_group_to_fault():
    d = two()
    d.feed(0, "VI_1", FaultSet("track_script chk", pending=True))
    d.start(0)
    out = d.feed(S, "VI_1", FaultSet("track_script chk"))
    # VI_1 notifies its FAULT; VI_2, already in FAULT (init), is left as it is
    assert rows(out) == [
        ("VI_1", "Notify", "FAULT", 100),
        (None, "Log", 20, "VRRP_Group(G) Syncing instances to FAULT state"),
        (None, "GroupNotify", "G", "FAULT"),
    ]


# ------------------------------------------------------------------ to MASTER

def test_a_member_timing_out_alone_waits_another_master_down_interval():
    d = two()
    d.start(0)
    out = d.fire("VI_1", TimerKind.MASTER_DOWN)
    assert rows(out) == [("VI_1", "ArmTimer", "MASTER_DOWN", 2 * MD1)]
    assert d.group.machine("VI_1").wantstate == State.MASTER
    assert d.group.machine("VI_1").state == State.BACKUP


def test_when_the_last_member_wants_master_the_group_goes_master_together():
    d = two()
    d.start(0)
    d.fire("VI_1", TimerKind.MASTER_DOWN)
    out = d.fire("VI_2", TimerKind.MASTER_DOWN)
    assert rows(out) == [
        ("VI_2", "SendAdvert", 90),
        ("VI_2", "Log", 20, "(VI_2) Entering MASTER STATE"),
        ("VI_2", "StateChanged", "BACKUP", "MASTER"),
        ("VI_2", "AddVips"),
        ("VI_2", "SendGarp", 5),
        ("VI_2", "ArmTimer", "ADVER", MD2 + S),
        ("VI_2", "ArmTimer", "GARP_DELAYED", MD2 + 5 * S),
        ("VI_2", "Notify", "MASTER", 90),
        ("VI_2", "Count", "BECOME_MASTER"),
        (None, "Log", 20, "VRRP_Group(G) Syncing instances to MASTER state"),
        ("VI_1", "CancelTimer", "MASTER_DOWN"),
        ("VI_1", "SendAdvert", 100),
        ("VI_1", "Log", 20, "(VI_1) Entering MASTER STATE"),
        ("VI_1", "StateChanged", "BACKUP", "MASTER"),
        ("VI_1", "AddVips"),
        ("VI_1", "SendGarp", 5),
        ("VI_1", "ArmTimer", "ADVER", MD2 + S),
        ("VI_1", "ArmTimer", "GARP_DELAYED", MD2 + 5 * S),
        ("VI_1", "Notify", "MASTER", 100),
        ("VI_1", "Count", "BECOME_MASTER"),
        (None, "GroupNotify", "G", "MASTER"),
    ]


def test_a_member_that_hears_its_master_again_stops_wanting_master():
    d = two()
    d.start(0)
    d.fire("VI_1", TimerKind.MASTER_DOWN)
    d.feed(MD1 + 1, "VI_1", higher(1))          # accepted: wantstate BACKUP again
    assert d.group.machine("VI_1").wantstate == State.BACKUP
    out = d.fire("VI_2", TimerKind.MASTER_DOWN)
    assert rows(out) == [("VI_2", "ArmTimer", "MASTER_DOWN", MD2 + MD2)]
    assert states(d.group) == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}


# ------------------------------------------------------------------ to BACKUP

def test_a_master_hearing_a_higher_priority_takes_the_group_to_backup_without_priority_0():
    d = two()
    both_master(d)
    t = MD2 + S // 2
    out = d.feed(t, "VI_2", higher(2))
    assert [r for r in rows(out) if r[0] == "VI_1" or r[0] is None] == [
        (None, "Log", 20, "VRRP_Group(G) Syncing instances to BACKUP state"),
        ("VI_1", "Log", 20, "(VI_1) Entering BACKUP STATE"),
        ("VI_1", "StateChanged", "MASTER", "BACKUP"),
        ("VI_1", "CancelTimer", "GARP_DELAYED"),
        ("VI_1", "RemoveVips", False),
        ("VI_1", "Notify", "BACKUP", 100),
        ("VI_1", "CancelTimer", "ADVER"),
        ("VI_1", "ArmTimer", "MASTER_DOWN", t + MD1),
        ("VI_1", "Count", "RELEASE_MASTER"),
        (None, "GroupNotify", "G", "BACKUP"),
    ]
    assert not [r for r in rows(out) if r[1] == "SendAdvert"]


def test_a_lower_priority_advert_to_a_master_changes_nothing_in_the_group():
    d = two()
    both_master(d)
    out = d.feed(MD2 + 1, "VI_1", AdvertReceived(ip("10.0.0.9"), 50, 1, (ip("10.0.0.101"),)))
    assert {r.member for r in out} == {"VI_1"}
    assert d.group.state == State.MASTER


# ------------------------------------------------------------------ to FAULT

def test_one_fault_takes_every_master_to_fault_with_one_priority_0_advert_each():
    d = two()
    both_master(d)
    out = d.feed(MD2 + 1, "VI_1", FaultSet("track_interface eth0"))
    assert rows(out) == [
        ("VI_1", "Log", 20, "(VI_1) Entering FAULT STATE"),
        ("VI_1", "StateChanged", "MASTER", "FAULT"),
        ("VI_1", "SendAdvert", 0),
        ("VI_1", "SendAdvert", 0),
        ("VI_1", "Count", "PRI_ZERO_SENT"),
        ("VI_1", "CancelTimer", "GARP_DELAYED"),
        ("VI_1", "RemoveVips", False),
        ("VI_1", "Notify", "FAULT", 100),
        ("VI_1", "CancelTimer", "ADVER"),
        ("VI_1", "Count", "RELEASE_MASTER"),
        (None, "Log", 20, "VRRP_Group(G) Syncing instances to FAULT state"),
        ("VI_2", "Log", 20, "(VI_2) Entering FAULT STATE"),
        ("VI_2", "StateChanged", "MASTER", "FAULT"),
        ("VI_2", "SendAdvert", 0),
        ("VI_2", "Count", "PRI_ZERO_SENT"),
        ("VI_2", "CancelTimer", "GARP_DELAYED"),
        ("VI_2", "RemoveVips", False),
        ("VI_2", "Notify", "FAULT", 90),
        ("VI_2", "CancelTimer", "ADVER"),
        ("VI_2", "Count", "RELEASE_MASTER"),
        (None, "GroupNotify", "G", "FAULT"),
    ]
    assert d.timers == {}


def test_a_backup_forced_to_fault_logs_nothing_of_its_own_but_notifies():
    d = two()
    d.start(0)
    out = d.feed(S, "VI_2", FaultSet("track_interface eth1"))
    assert [r for r in rows(out) if r[0] != "VI_2"] == [
        (None, "Log", 20, "VRRP_Group(G) Syncing instances to FAULT state"),
        ("VI_1", "StateChanged", "BACKUP", "FAULT"),
        ("VI_1", "Notify", "FAULT", 100),
        ("VI_1", "CancelTimer", "MASTER_DOWN"),
        (None, "GroupNotify", "G", "FAULT"),
    ]


def test_the_group_stays_fault_until_every_member_has_recovered():
    d = two()
    d.start(0)
    d.feed(S, "VI_1", FaultSet("track_interface eth0"))
    out = d.feed(S, "VI_2", FaultSet("track_interface eth1"))
    # VI_2 is in FAULT already: its notify is the one the notifier drops
    assert rows(out) == [("VI_2", "Notify", "FAULT", 90)]
    assert rows(d.feed(2 * S, "VI_1", FaultCleared("track_interface eth0"))) == []
    assert states(d.group) == {"VI_1": State.FAULT, "VI_2": State.FAULT}
    out = d.feed(3 * S, "VI_2", FaultCleared("track_interface eth1"))
    assert [r for r in rows(out) if r[1] in ("Log", "GroupNotify")] == [
        ("VI_2", "Log", 20, "(VI_2) Entering BACKUP STATE"),
        (None, "Log", 20, "VRRP_Group(G) Syncing instances to BACKUP state"),
        ("VI_1", "Log", 20, "(VI_1) Entering BACKUP STATE"),
        (None, "GroupNotify", "G", "BACKUP"),
    ]
    assert d.group.state == State.BACKUP


def test_a_second_reason_on_the_same_member_does_not_resync():
    d = two()
    d.start(0)
    d.feed(S, "VI_1", FaultSet("track_interface eth0"))
    assert rows(d.feed(S, "VI_1", FaultSet("track_script chk"))) == []
    assert rows(d.feed(S, "VI_1", FaultCleared("track_interface eth0"))) == []
    assert d.group.state == State.FAULT


def test_an_owner_that_faulted_comes_back_as_backup_like_every_member():
    # try_up_instance: a real fault made the owner want FAULT, so it comes up
    # as BACKUP (keepalived: only a member that never left its wantstate
    # MASTER goes straight back), and the group with it.
    g = SyncGroup("G", [member("VI_1", 1, 255), member("VI_2", 2, 255)])
    d = GroupDriver(g)
    d.start(0)
    d.fire("VI_1", TimerKind.MASTER_DOWN)
    d.feed(S, "VI_1", FaultSet("track_interface eth0"))
    out = d.feed(2 * S, "VI_1", FaultCleared("track_interface eth0"))
    assert [r for r in rows(out) if r[1] in ("StateChanged", "GroupNotify")] == [
        ("VI_1", "StateChanged", "FAULT", "BACKUP"),
        ("VI_2", "StateChanged", "FAULT", "BACKUP"),
        (None, "GroupNotify", "G", "BACKUP"),
    ]
    assert g.machine("VI_1").wantstate == State.BACKUP


def test_an_owner_released_from_its_first_tracker_goes_master_if_every_member_wants_it():
    g = SyncGroup("G", [member("VI_1", 1, 255), member("VI_2", 2, 255)])
    d = GroupDriver(g)
    d.feed(0, "VI_1", FaultSet("track_script chk", pending=True))
    d.start(0)
    out = d.feed(S, "VI_1", FaultCleared("track_script chk"))
    assert [r for r in rows(out) if r[1] in ("StateChanged", "GroupNotify")] == [
        ("VI_1", "StateChanged", "FAULT", "MASTER"),
        ("VI_2", "StateChanged", "FAULT", "MASTER"),
        (None, "GroupNotify", "G", "MASTER"),
    ]


def test_an_owner_released_while_another_member_wants_backup_waits_as_backup():
    g = SyncGroup("G", [member("VI_1", 1, 255), member("VI_2", 2, 255)])
    d = GroupDriver(g)
    d.feed(0, "VI_1", FaultSet("track_script chk", pending=True))
    d.start(0)
    d.feed(S, "VI_2", FaultSet("track_interface eth1"))      # the group goes FAULT
    d.feed(2 * S, "VI_2", FaultCleared("track_interface eth1"))
    assert g.machine("VI_2").wantstate == State.BACKUP       # recovered, waiting for VI_1
    out = d.feed(3 * S, "VI_1", FaultCleared("track_script chk"))
    # refused MASTER (SyncLeaveFault(master_ok=False)): BACKUP, still wanting MASTER
    assert [r for r in rows(out) if r[1] in ("StateChanged", "GroupNotify")] == [
        ("VI_1", "StateChanged", "FAULT", "BACKUP"),
        ("VI_2", "StateChanged", "FAULT", "BACKUP"),
        (None, "GroupNotify", "G", "BACKUP"),
    ]
    assert g.machine("VI_1").wantstate == State.MASTER
    assert d.timers[("VI_1", TimerKind.MASTER_DOWN)] == 3 * S + 3_003_906_000
    d.fire("VI_1", TimerKind.MASTER_DOWN)                     # VI_2 still wants BACKUP: hold
    assert states(g) == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}
    d.fire("VI_2", TimerKind.MASTER_DOWN)                     # now both want MASTER
    assert states(g) == {"VI_1": State.MASTER, "VI_2": State.MASTER}


def test_a_priority_change_is_the_members_alone():
    d = two()
    d.start(0)
    out = d.feed(S, "VI_1", PriorityChanged(10))
    assert {r.member for r in out} == {"VI_1"} and d.group.state == State.BACKUP


# ------------------------------------------------------------------ stop

def test_stop_stops_every_member_then_notifies_the_group():
    d = two()
    both_master(d)
    out = d.stop(MD2 + 1)
    notes = [r for r in rows(out) if r[1] in ("Notify", "GroupNotify", "SendAdvert")]
    assert notes == [("VI_1", "SendAdvert", 0), ("VI_1", "Notify", "STOP", 100),
                     ("VI_2", "SendAdvert", 0), ("VI_2", "Notify", "STOP", 90),
                     (None, "GroupNotify", "G", "STOP")]
    assert d.timers == {} and d.group.state == State.STOP
    assert rows(d.stop(MD2 + 2)) == []                     # once
    d.start(MD2 + 3)                                      # and it can start again
    assert d.group.state == State.BACKUP


# ------------------------------------------------------------------ the engine's side

def test_react_gives_what_handle_gives_for_events_run_elsewhere():
    # An engine whose machines sit behind the fast path runs the member's
    # event itself and hands the group the actions.
    a, b = two(), two()
    for d in (a, b):
        d.start(0)
        d.fire("VI_1", TimerKind.MASTER_DOWN)
    via_handle = a.fire("VI_2", TimerKind.MASTER_DOWN)
    deadline = b.timers.pop(("VI_2", TimerKind.MASTER_DOWN))
    own = b.group.machine("VI_2").handle(deadline, TimerFired(TimerKind.MASTER_DOWN, deadline))
    assert [type(x).__name__ for x in own] == ["MasterWanted"]
    via_react = b.group.react(deadline, "VI_2", own)
    assert via_handle == via_react
    assert states(b.group) == {"VI_1": State.MASTER, "VI_2": State.MASTER}


def test_a_run_hook_runs_the_groups_own_events():
    seen = []
    holder = {}

    def run(name, now, event):
        assert holder["g"].acting
        seen.append((name, type(event).__name__))
        # what an engine behind the fast path would see: a re-entrant react is ignored
        actions = holder["g"].machine(name).handle(now, event)
        assert holder["g"].react(now, name, actions) == []
        return actions

    g = SyncGroup("G", [member("VI_1", 1), member("VI_2", 2, 90)], run=run)
    holder["g"] = g
    g.start(0)
    assert seen == [("VI_1", "SyncStartup"), ("VI_2", "SyncStartup")]
    out = g.handle(S, "VI_1", FaultSet("x"))
    assert seen[-1] == ("VI_2", "SyncForceFault") and not g.acting
    assert ("VI_2", "FAULT") in [(r.member, r.action.state.name) for r in out
                                 if type(r.action).__name__ == "Notify"]


def test_routed_outputs_are_tuples_of_member_and_action():
    out = two().start(0)
    assert all(isinstance(r, Routed) and isinstance(r, tuple) for r in out)
    assert out[0] == (None, out[0].action)


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("name, members, match", [
    ("", [member("VI_1", 1)], "name"),
    ("G", [], "no member"),
    ("G", "VI_1", "sequence"),
    ("G", [member("VI_1", 1), member("VI_1", 2)], "twice"),
    ("G", [object()], "InstanceParams"),
    ("G", [member("VI_1", 1, sync_group="OTHER")], "belongs to sync group OTHER"),
])
def test_bad_groups_are_refused(name, members, match):
    with pytest.raises(SyncGroupError, match=match):
        SyncGroup(name, members)


def test_bad_calls_are_refused_with_a_clear_error():
    d = two()
    with pytest.raises(SyncGroupError, match="no member 'VI_9'"):
        d.group.handle(0, "VI_9", FaultSet("x"))
    for event in (Startup(), Shutdown(), SyncGoMaster()):
        with pytest.raises(SyncGroupError, match="the group's to send"):
            d.group.handle(0, "VI_1", event)
    d.start(0)
    with pytest.raises(SyncGroupError, match="already running"):
        d.group.start(1)
    with pytest.raises(SyncGroupError, match="must be a list"):
        d.group.react(1, "VI_1", None)
    with pytest.raises(ValueError, match="non-negative"):
        two().group.start(0, -1)
    with pytest.raises(SyncGroupError, match="callable"):
        SyncGroup("G", [member("VI_1", 1)], run=5)


def test_counters_of_a_forced_fault():
    d = two()
    both_master(d)
    out = d.feed(MD2 + 1, "VI_1", FaultSet("x"))
    counts = [r.action.counter for r in out if r.member == "VI_2" and type(r.action).__name__ == "Count"]
    assert counts == [Counter.PRI_ZERO_SENT, Counter.RELEASE_MASTER]
    assert [r.action.state for r in out if r.member is None and hasattr(r.action, "group")] == \
        [NotifyState.FAULT]
