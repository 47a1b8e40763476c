"""RFC 5798 §6.4.1 Initialize, with keepalived 2.2.7's initial states
(keepalived-vrrp.md §3.5) and vrrp_startup_delay."""

from fastvrrp.vrrp import (FaultCleared, FaultSet, Shutdown, Startup, State, TimerFired, TimerKind,
                           VrrpMachine)

from vrrp_harness import MS, S, US, Adapter, advert, params, rendered

T0 = 1_000 * S  # an arbitrary monotonic start


def test_backup_enters_backup_init_and_waits_master_down_interval():
    """RFC 5798 §6.4.1: non-owner -> Backup, Master_Down_Timer = Master_Down_Interval."""
    m = VrrpMachine(params())
    assert m.state is State.INIT
    assert rendered(m.handle(T0, Startup())) == [
        ["RemoveVips", True],  # stale VIPs of an earlier run (keepalived vrrp_init_state)
        ["Log", 20, "(VI_1) Entering BACKUP STATE (init)"],
        ["StateChanged", "INIT", "BACKUP"],
        ["Notify", "BACKUP", 100],
        ["ArmTimer", "MASTER_DOWN", T0 + 3_609_375 * US],
    ]


def test_backup_times_out_to_master_after_3_609375_s():
    """RFC 5798 §6.4.2: Master_Down_Timer fires -> send an advert, GARP, go Master."""
    a = Adapter(VrrpMachine(params()))
    a.feed(T0, Startup())
    assert rendered(a.fire(TimerKind.MASTER_DOWN)) == [
        ["SendAdvert", 100],
        ["Log", 20, "(VI_1) Entering MASTER STATE"],
        ["StateChanged", "BACKUP", "MASTER"],
        ["AddVips"],
        ["SendGarp", 5],
        ["ArmTimer", "ADVER", T0 + 4_609_375 * US],
        ["ArmTimer", "GARP_DELAYED", T0 + 8_609_375 * US],
        ["Notify", "MASTER", 100],
        ["Count", "BECOME_MASTER"],
    ]
    assert a.machine.state is State.MASTER


def test_startup_detail_log_matches_keepalived_minus_d():
    """Observed with keepalived 2.2.7 -D: "removing VIPs." precedes "(init)"."""
    m = VrrpMachine(params(log_detail=True))
    assert rendered(m.handle(T0, Startup()))[:3] == [
        ["Log", 20, "(VI_1) removing VIPs."],
        ["RemoveVips", True],
        ["Log", 20, "(VI_1) Entering BACKUP STATE (init)"],
    ]


def test_owner_with_state_master_becomes_master_after_one_microsecond_without_backup_notify():
    """RFC 5798 §6.4.1: the owner goes to Master at once (keepalived: via a 1 µs timer)."""
    a = Adapter(VrrpMachine(params(priority=255)))
    assert rendered(a.feed(T0, Startup())) == [
        ["StateChanged", "INIT", "BACKUP"],
        ["ArmTimer", "MASTER_DOWN", T0 + 1 * US],
    ]
    actions = rendered(a.fire(TimerKind.MASTER_DOWN))
    assert actions[:3] == [["SendAdvert", 255], ["Log", 20, "(VI_1) Entering MASTER STATE"],
                           ["StateChanged", "BACKUP", "MASTER"]]
    assert ["Notify", "MASTER", 255] in actions


def test_owner_configured_state_backup_waits_like_a_backup():
    m = VrrpMachine(params(priority=255, initial_state=State.BACKUP))
    actions = rendered(m.handle(T0, Startup()))
    assert actions[1] == ["Log", 20, "(VI_1) Entering BACKUP STATE (init)"]
    # 3 s + (256-255)/256 s
    assert actions[-1] == ["ArmTimer", "MASTER_DOWN", T0 + 3_003_906 * US]


def test_non_owner_state_master_waits_the_full_interval_as_installed_2_2_7_does():
    """keepalived-vrrp.md §3.5: observed 3 * adv + skew, BACKUP (init) and notify."""
    m = VrrpMachine(params(priority=150, initial_state=State.MASTER))
    assert rendered(m.handle(T0, Startup())) == [
        ["RemoveVips", True],
        ["Log", 20, "(VI_1) Entering BACKUP STATE (init)"],
        ["StateChanged", "INIT", "BACKUP"],
        ["Notify", "BACKUP", 150],
        ["ArmTimer", "MASTER_DOWN", T0 + 3_414_062 * US],  # 3 s + 106/256 s
    ]
    assert m.wantstate is State.MASTER


def test_non_owner_state_master_yields_its_wantstate_to_an_accepted_advert():
    m = VrrpMachine(params(priority=150, initial_state=State.MASTER))
    m.handle(T0, Startup())
    m.handle(T0 + S, advert(priority=200))
    assert m.wantstate is State.BACKUP


def test_v3_startup_uses_centisecond_interval():
    """RFC 5798 §6.4.1 with advert_int 0.1 s: 3 * 10 cs + 156 * 10 / 256 cs."""
    m = VrrpMachine(params(version=3, advert_int_cs=10))
    actions = m.handle(T0, Startup())
    assert rendered(actions)[-1] == ["ArmTimer", "MASTER_DOWN", T0 + 360_937 * US]
    assert m.master_down_interval_ns == 360_937 * US
    assert m.skew_time_ns == 60_937 * US


def test_down_timer_adverts_changes_the_first_wait():
    m = VrrpMachine(params(down_timer_adverts=5))
    assert rendered(m.handle(T0, Startup()))[-1] == ["ArmTimer", "MASTER_DOWN", T0 + 5_609_375 * US]


def test_a_fault_known_at_start_enters_fault_with_a_notify():
    """keepalived 2.2.7 vrrp_complete_init: "(VI_1) entering FAULT state" and a
    FAULT notify (the tracker logs its own reason); the wantstate becomes FAULT."""
    m = VrrpMachine(params())
    assert m.handle(T0 - 1, FaultSet("interface eth0 down")) == []
    assert rendered(m.handle(T0, Startup())) == [
        ["RemoveVips", True],
        ["Log", 20, "(VI_1) entering FAULT state"],
        ["StateChanged", "INIT", "FAULT"],
        ["Notify", "FAULT", 100],
    ]
    assert m.timers == {}
    assert m.wantstate is State.FAULT


def test_pending_trackers_hold_fault_init_without_notify_then_release_to_backup():
    """keepalived: unweighted scripts before their first result: FAULT (init),
    not notified; the first success brings BACKUP with a notify."""
    a = Adapter(VrrpMachine(params()))
    a.feed(T0 - 1, FaultSet("chk_nginx", pending=True))
    assert rendered(a.feed(T0, Startup())) == [
        ["RemoveVips", True],
        ["Log", 20, "(VI_1) Entering FAULT STATE (init)"],
        ["StateChanged", "INIT", "FAULT"],
    ]
    assert rendered(a.feed(T0 + 2 * S, FaultCleared("chk_nginx"))) == [
        ["Log", 20, "(VI_1) Entering BACKUP STATE"],
        ["StateChanged", "FAULT", "BACKUP"],
        ["Notify", "BACKUP", 100],
        ["ArmTimer", "MASTER_DOWN", T0 + 2 * S + 3_609_375 * US],
    ]


def test_pending_tracker_that_fails_notifies_fault_without_a_second_log_line():
    a = Adapter(VrrpMachine(params()))
    a.feed(T0 - 1, FaultSet("chk_nginx", pending=True))
    a.feed(T0, Startup())
    assert rendered(a.feed(T0 + 2 * S, FaultSet("chk_nginx"))) == [["Notify", "FAULT", 100]]
    assert a.machine.state is State.FAULT
    assert a.machine.wantstate is State.FAULT


def test_owner_held_by_a_pending_tracker_comes_up_as_master_at_once():
    """keepalived try_up_instance: an owner still wanting MASTER skips BACKUP."""
    a = Adapter(VrrpMachine(params(priority=255)))
    a.feed(T0 - 1, FaultSet("chk_nginx", pending=True))
    a.feed(T0, Startup())
    actions = rendered(a.feed(T0 + S, FaultCleared("chk_nginx")))
    assert actions[:3] == [["SendAdvert", 255], ["Log", 20, "(VI_1) Entering MASTER STATE"],
                           ["StateChanged", "FAULT", "MASTER"]]
    assert a.machine.state is State.MASTER


def test_owner_faulted_at_start_comes_up_as_backup():
    """keepalived vrrp_init_state sets wantstate FAULT for a fault known at start."""
    a = Adapter(VrrpMachine(params(priority=255)))
    a.feed(T0 - 1, FaultSet("interface eth0 down"))
    a.feed(T0, Startup())
    actions = rendered(a.feed(T0 + S, FaultCleared("interface eth0 down")))
    assert actions[0] == ["Log", 20, "(VI_1) Entering BACKUP STATE"]
    assert actions[-1] == ["ArmTimer", "MASTER_DOWN", T0 + S + 3_003_906 * US]


def test_startup_delay_pushes_the_first_timeout_and_discards_adverts():
    """keepalived vrrp_startup_delay: timers run from the end of the delay;
    everything received during it is discarded."""
    a = Adapter(VrrpMachine(params()))
    assert rendered(a.feed(T0, Startup(startup_delay_ns=10 * S))) == [
        ["ArmTimer", "STARTUP_DELAY", T0 + 10 * S],
        ["RemoveVips", True],
        ["Log", 20, "(VI_1) Entering BACKUP STATE (init)"],
        ["StateChanged", "INIT", "BACKUP"],
        ["Notify", "BACKUP", 100],
        ["ArmTimer", "MASTER_DOWN", T0 + 10 * S + 3_609_375 * US],
    ]
    assert a.feed(T0 + S, advert(priority=200)) == []
    assert a.fire(TimerKind.STARTUP_DELAY) == []
    assert a.machine.startup_delay_until_ns is None
    # After the delay adverts count again.
    assert rendered(a.feed(T0 + 11 * S, advert(priority=200)))[-1] == [
        "ArmTimer", "MASTER_DOWN", T0 + 11 * S + 3_609_375 * US]


def test_owner_after_startup_delay_becomes_master_whatever_the_expiry_order():
    """The owner's 1 µs timer and the delay's end fall in the same wheel tick;
    the machine judges the delay by the clock, so the order does not matter."""
    for delay_first in (True, False):
        a = Adapter(VrrpMachine(params(priority=255)))
        a.feed(T0, Startup(startup_delay_ns=5 * S))
        assert a.timers == {TimerKind.STARTUP_DELAY: T0 + 5 * S, TimerKind.MASTER_DOWN: T0 + 5 * S + US}
        if delay_first:
            assert a.fire(TimerKind.STARTUP_DELAY) == []
        actions = rendered(a.fire(TimerKind.MASTER_DOWN))
        assert actions[:2] == [["SendAdvert", 255], ["Log", 20, "(VI_1) Entering MASTER STATE"]]
        assert a.machine.vips_set
        if not delay_first:
            assert a.fire(TimerKind.STARTUP_DELAY) == []


def test_master_during_the_delay_stays_silent_and_announces_when_it_ends():
    """keepalived ≥ 2.4: MASTER inside the delay sets the state and sends
    nothing; fastvrrp announces at the delay's end (a wheel firing early is
    how a Master_Down_Timer can expire inside the delay)."""
    a = Adapter(VrrpMachine(params()))
    a.feed(T0, Startup(startup_delay_ns=5 * S))
    m = a.machine
    deadline = a.timers.pop(TimerKind.MASTER_DOWN)
    actions = rendered(a.feed(T0 + S, TimerFired(TimerKind.MASTER_DOWN, deadline)))
    assert actions == [["StateChanged", "BACKUP", "MASTER"],
                       ["ArmTimer", "ADVER", T0 + 6 * S]]
    assert m.state is State.MASTER and not m.vips_set
    # Still inside the delay, the Adver_Timer only re-arms.
    assert rendered(a.feed(T0 + 2 * S, TimerFired(TimerKind.ADVER, a.timers.pop(TimerKind.ADVER)))) == [
        ["ArmTimer", "ADVER", T0 + 6 * S]]
    actions = rendered(a.fire(TimerKind.STARTUP_DELAY))
    assert actions[:2] == [["SendAdvert", 100], ["Log", 20, "(VI_1) Entering MASTER STATE"]]
    assert ["StateChanged", "BACKUP", "MASTER"] not in actions
    assert ["Notify", "MASTER", 100] in actions and ["AddVips"] in actions
    assert ["ArmTimer", "ADVER", T0 + 6 * S] in actions
    assert m.vips_set


def test_startup_twice_is_ignored_and_restart_after_stop_starts_afresh():
    m = VrrpMachine(params())
    m.handle(T0, Startup())
    assert m.handle(T0 + 1, Startup()) == []
    m.handle(T0 + 2, Shutdown())
    assert m.state is State.STOP
    actions = rendered(m.handle(T0 + 3, Startup()))
    assert actions[:3] == [["RemoveVips", True], ["Log", 20, "(VI_1) Entering BACKUP STATE (init)"],
                           ["StateChanged", "STOP", "BACKUP"]]


def test_millisecond_figure_sanity():
    # Readability anchor for the constants used above.
    assert 3_609_375 * US == 3609 * MS + 375 * US


def test_silent_master_whose_adver_timer_is_delivered_before_the_delay_timer():
    a = Adapter(VrrpMachine(params()))
    a.feed(T0, Startup(startup_delay_ns=5 * S))
    deadline = a.timers.pop(TimerKind.MASTER_DOWN)
    a.feed(T0 + S, TimerFired(TimerKind.MASTER_DOWN, deadline))
    # The delay is over by the clock when the Adver_Timer expires, even if the
    # adapter has not delivered the delay's own expiry yet.
    actions = rendered(a.fire(TimerKind.ADVER))
    assert actions[:2] == [["SendAdvert", 100], ["Log", 20, "(VI_1) Entering MASTER STATE"]]
    assert a.fire(TimerKind.STARTUP_DELAY) == []
