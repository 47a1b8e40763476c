"""FAULT (keepalived-vrrp.md §3.4) and effective priority changes (§3.2)."""

from fastvrrp.vrrp import (FaultCleared, FaultSet, PriorityChanged, SourceAddressChanged, Startup, State,
                           TimerKind, VrrpMachine)

from vrrp_harness import PEER_HIGH, PEER_LOW, S, US, Adapter, advert, ip, kinds_of, logs, params, rendered

T0 = 50 * S
MD = 3_609_375 * US


def started(**overrides) -> Adapter:
    a = Adapter(VrrpMachine(params(**overrides)))
    a.feed(T0, Startup())
    return a


def master(**overrides) -> Adapter:
    a = started(**overrides)
    a.fire(TimerKind.MASTER_DOWN)
    return a


# ----------------------------------------------------------------------- FAULT


def test_master_entering_fault_sends_two_priority_zero_adverts_and_drops_vips():
    """keepalived 2.2.7 down_instance from MASTER: one priority-0 advert from
    leave_master, one from restore_interface (only that one is counted)."""
    a = master(log_detail=True)
    assert rendered(a.feed(T0 + 5 * S, FaultSet("interface eth0 down"))) == [
        ["Log", 20, "(VI_1) Entering FAULT STATE"],
        ["StateChanged", "MASTER", "FAULT"],
        ["SendAdvert", 0],
        ["SendAdvert", 0],
        ["Count", "PRI_ZERO_SENT"],
        ["Log", 20, "(VI_1) sent 0 priority"],
        ["CancelTimer", "GARP_DELAYED"],
        ["Log", 20, "(VI_1) removing VIPs."],
        ["RemoveVips", False],
        ["Notify", "FAULT", 100],
        ["CancelTimer", "ADVER"],
        ["Count", "RELEASE_MASTER"],
    ]
    assert a.timers == {}
    assert a.machine.wantstate is State.FAULT


def test_backup_entering_fault_only_changes_state():
    a = started()
    assert rendered(a.feed(T0 + S, FaultSet("chk_nginx"))) == [
        ["Log", 20, "(VI_1) Entering FAULT STATE"],
        ["StateChanged", "BACKUP", "FAULT"],
        ["Notify", "FAULT", 100],
        ["CancelTimer", "MASTER_DOWN"],
    ]


def test_fault_ignores_adverts_and_needs_every_reason_cleared():
    a = started()
    a.feed(T0 + S, FaultSet("interface eth0 down"))
    assert a.feed(T0 + 2 * S, FaultSet("chk_nginx")) == []
    assert a.feed(T0 + 3 * S, advert(priority=0)) == []
    assert a.feed(T0 + 4 * S, FaultCleared("interface eth0 down")) == []
    assert a.feed(T0 + 4 * S, FaultCleared("never set")) == []
    assert a.machine.state is State.FAULT and a.machine.faults == {"chk_nginx"}
    assert rendered(a.feed(T0 + 5 * S, FaultCleared("chk_nginx"))) == [
        ["Log", 20, "(VI_1) Entering BACKUP STATE"],
        ["StateChanged", "FAULT", "BACKUP"],
        ["Notify", "BACKUP", 100],
        ["ArmTimer", "MASTER_DOWN", T0 + 5 * S + MD],
    ]


def test_leaving_fault_resets_a_learned_v3_interval():
    """keepalived try_up_instance: Master_Adver_Interval back to the local value."""
    a = started(version=3, advert_int_cs=100)
    a.feed(T0 + S, advert(priority=150, adver_int=10))
    assert a.machine.master_adver_interval_ns == 100_000_000
    a.feed(T0 + 2 * S, FaultSet("x"))
    actions = rendered(a.feed(T0 + 3 * S, FaultCleared("x")))
    assert actions[-1] == ["ArmTimer", "MASTER_DOWN", T0 + 3 * S + MD]
    assert a.machine.master_adver_interval_ns == S


def test_owner_that_faulted_at_runtime_comes_back_as_backup():
    """keepalived: down_instance sets wantstate FAULT, so try_up goes BACKUP."""
    a = master(priority=255)
    a.feed(T0 + 5 * S, FaultSet("interface eth0 down"))
    actions = rendered(a.feed(T0 + 6 * S, FaultCleared("interface eth0 down")))
    assert actions[0] == ["Log", 20, "(VI_1) Entering BACKUP STATE"]
    assert actions[-1] == ["ArmTimer", "MASTER_DOWN", T0 + 6 * S + 3_003_906 * US]


def test_unicast_instance_refreshes_the_masters_arp_cache_on_leaving_fault():
    a = started(unicast=True)
    a.feed(T0 + S, FaultSet("x"))
    assert "SendSourceGarp" in kinds_of(a.feed(T0 + 2 * S, FaultCleared("x")))


def test_fault_set_before_startup_does_not_change_wantstate():
    m = VrrpMachine(params(priority=255))
    m.handle(0, FaultSet("x"))
    assert m.wantstate is State.MASTER and m.state is State.INIT


# ------------------------------------------------------------ effective priority


def test_priority_change_logs_and_rescales_the_pending_master_down_timer():
    """keepalived vrrp_set_effective_priority: the pending backup timer moves by
    the change of Master_Down_Interval (here the Skew_Time part)."""
    a = started()
    assert rendered(a.feed(T0 + S, PriorityChanged(+2))) == [
        ["Log", 20, "(VI_1) Changing effective priority from 100 to 102"],
        ["PriorityUpdated", 100, 102],
        ["ArmTimer", "MASTER_DOWN", T0 + 3_601_562 * US],  # skew 609,375 -> 601,562 µs
    ]
    assert a.machine.master_down_interval_ns == 3_601_562 * US


def test_priority_change_after_priority_zero_rescales_skew_time():
    a = started()
    a.feed(T0 + S, advert(priority=0))
    assert a.timers[TimerKind.MASTER_DOWN] == T0 + S + 609_375 * US
    actions = rendered(a.feed(T0 + S + 1, PriorityChanged(-50)))
    # skew 609,375 -> (256-50)/256 s = 804,687 µs
    assert actions[-1] == ["ArmTimer", "MASTER_DOWN", T0 + S + 804_687 * US]


def test_priority_change_is_not_advertised_at_once_by_a_master():
    a = master()
    actions = rendered(a.feed(T0 + MD + 1, PriorityChanged(+2)))
    assert actions == [["Log", 20, "(VI_1) Changing effective priority from 100 to 102"],
                       ["PriorityUpdated", 100, 102]]
    t = a.timers[TimerKind.ADVER]
    assert rendered(a.fire(TimerKind.ADVER)) == [["SendAdvert", 102], ["ArmTimer", "ADVER", t + S]]


def test_priority_clamps_and_repeats_are_silent():
    a = started()
    assert logs(a.feed(T0 + 1, PriorityChanged(-500))) == ["(VI_1) Changing effective priority from 100 to 1"]
    assert a.feed(T0 + 2, PriorityChanged(-600)) == []
    assert logs(a.feed(T0 + 3, PriorityChanged(+500))) == ["(VI_1) Changing effective priority from 1 to 254"]


def test_owner_priority_never_moves():
    a = started(priority=255)
    assert a.feed(T0 + 1, PriorityChanged(-100)) == []
    assert a.machine.effective_priority == 255


def test_lower_priority_after_tracking_makes_the_backup_preempt():
    """The seed scenario: 100+2 beats 99+2 once the master returns."""
    a = started(priority=99, primary_address=ip("192.168.16.129"))
    a.feed(T0 + S, PriorityChanged(+2))
    old_master = ip("192.168.16.128")
    assert logs(a.feed(T0 + 2 * S, advert(src=old_master, priority=102))) == []
    a.feed(T0 + 3 * S, PriorityChanged(0))  # our script failed
    assert a.machine.effective_priority == 99
    assert a.machine.state is State.BACKUP


def test_source_address_change_moves_the_tie_break():
    a = master()
    a.feed(T0 + MD + 1, SourceAddressChanged(ip("192.168.200.3")))
    # PEER_HIGH (.2) is now below us: equal priority from it is "lower".
    assert "lower priority 100, ours 100" in logs(a.feed(T0 + MD + 2, advert(src=PEER_HIGH)))[0]
    a.feed(T0 + MD + 3, SourceAddressChanged(None))
    # Without an address every sender is greater: yield.
    assert "(VI_1) Entering BACKUP STATE" in logs(a.feed(T0 + MD + 4, advert(src=PEER_LOW)))


def test_unicast_owner_coming_up_from_fault_goes_master_and_refreshes_arp():
    a = Adapter(VrrpMachine(params(priority=255, unicast=True)))
    a.feed(T0 - 1, FaultSet("x", pending=True))
    a.feed(T0, Startup())
    actions = kinds_of(a.feed(T0 + S, FaultCleared("x")))
    assert actions[0] == "SendAdvert" and actions[-1] == "SendSourceGarp"
    assert a.machine.state is State.MASTER
