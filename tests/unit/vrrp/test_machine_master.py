"""RFC 5798 §6.4.3 / RFC 3768 §6.4.3: Master (keepalived-vrrp.md §3.8, §3.13, §3.14)."""

from fastvrrp.vrrp import AdvertRejected, Counter, Shutdown, Startup, State, TimerKind, VrrpMachine

from vrrp_harness import (OURS, PEER_HIGH, PEER_LOW, MS, S, US, Adapter, advert, ip, kinds_of, logs,
                          params, rendered)

T0 = 50 * S
MD = 3_609_375 * US  # Master_Down_Interval at priority 100, 1 s


def master(**overrides) -> Adapter:
    """An instance that has just become master at T0 + MD."""
    a = Adapter(VrrpMachine(params(**overrides)))
    a.feed(T0, Startup())
    a.fire(TimerKind.MASTER_DOWN)
    assert a.machine.state is State.MASTER
    return a


def test_becoming_master_in_keepalived_order_with_detail_logs():
    """keepalived-vrrp.md §3.13: advert, VIPs, GARP, timers, notify."""
    a = Adapter(VrrpMachine(params(log_detail=True, garp_master_refresh_ns=60 * S)))
    a.feed(T0, Startup())
    assert rendered(a.fire(TimerKind.MASTER_DOWN)) == [
        ["Log", 20, "(VI_1) Receive advertisement timeout"],
        ["SendAdvert", 100],
        ["Log", 20, "(VI_1) Entering MASTER STATE"],
        ["StateChanged", "BACKUP", "MASTER"],
        ["Log", 20, "(VI_1) setting VIPs."],
        ["AddVips"],
        ["SendGarp", 5],
        ["ArmTimer", "ADVER", T0 + MD + S],
        ["ArmTimer", "GARP_DELAYED", T0 + MD + 5 * S],
        ["ArmTimer", "GARP_REFRESH", T0 + MD + 60 * S],
        ["Notify", "MASTER", 100],
        ["Count", "BECOME_MASTER"],
    ]


def test_adver_timer_sends_and_rearms():
    """RFC 5798 §6.4.3: Adver_Timer fires: send an ADVERTISEMENT, reset the timer."""
    a = master()
    t = a.timers[TimerKind.ADVER]
    assert rendered(a.fire(TimerKind.ADVER)) == [["SendAdvert", 100], ["ArmTimer", "ADVER", t + S]]


def test_v3_adver_timer_uses_centiseconds():
    a = master(version=3, advert_int_cs=1)
    t = a.timers[TimerKind.ADVER]
    assert rendered(a.fire(TimerKind.ADVER)) == [["SendAdvert", 100], ["ArmTimer", "ADVER", t + 10 * MS]]


def test_garp_delayed_and_refresh_bursts():
    a = master(garp_master_refresh_ns=10 * S, garp_master_refresh_repeat=2)
    assert rendered(a.fire(TimerKind.GARP_DELAYED)) == [["SendGarp", 5]]
    t = a.timers[TimerKind.GARP_REFRESH]
    assert rendered(a.fire(TimerKind.GARP_REFRESH)) == [["SendGarp", 2], ["ArmTimer", "GARP_REFRESH", t + 10 * S]]


def test_no_garp_delay_no_second_burst():
    a = master(garp_master_delay_ns=0)
    assert TimerKind.GARP_DELAYED not in a.timers


def test_lower_priority_advert_reasserts_with_advert_garp_and_notify():
    """keepalived (and RFC 9568 §6.4.3): re-advertise at once; keepalived adds
    a GARP burst, a delayed second one, and MASTER_RX_LOWER_PRI."""
    a = master()
    now = T0 + MD + 300 * MS
    assert rendered(a.feed(now, advert(src=PEER_LOW, priority=50))) == [
        ["Count", "ADVERT_RCVD"],
        ["Log", 20, "(VI_1) Received advert from 192.168.200.0 with lower priority 50, ours 100, "
                    "forcing new election"],
        ["SendAdvert", 100],
        ["SendGarp", 5],
        ["ArmTimer", "GARP_LOWER_PRIO", now + 5 * S],
        ["Notify", "MASTER_RX_LOWER_PRI", 100],
        ["ArmTimer", "ADVER", now + S],
    ]
    assert rendered(a.fire(TimerKind.GARP_LOWER_PRIO)) == [["SendGarp", 5]]


def test_lower_prio_no_advert_stays_quiet_and_keeps_the_adver_timer():
    a = master(lower_prio_no_advert=True, garp_lower_prio_repeat=0)
    t = a.timers[TimerKind.ADVER]
    assert rendered(a.feed(T0 + MD + 300 * MS, advert(src=PEER_LOW, priority=50))) == [
        ["Count", "ADVERT_RCVD"],
        ["Log", 20, "(VI_1) Received advert from 192.168.200.0 with lower priority 50, ours 100"],
        ["Notify", "MASTER_RX_LOWER_PRI", 100],
    ]
    assert a.timers[TimerKind.ADVER] == t


def test_equal_priority_lower_address_is_treated_as_lower():
    """RFC 5798 §6.4.3: equal priority, the sender's address is smaller: stay master."""
    a = master()
    assert "lower priority 100, ours 100" in logs(a.feed(T0 + MD + 1, advert(src=PEER_LOW, priority=100)))[0]
    assert a.machine.state is State.MASTER


def test_higher_priority_advert_makes_master_yield_without_priority_zero():
    """RFC 5798 §6.4.3: higher priority: cancel Adver_Timer, set Master_Down_Timer,
    go Backup (keepalived: VIPs removed, no priority-0 advert)."""
    a = master(log_detail=True)
    now = T0 + MD + 300 * MS
    assert rendered(a.feed(now, advert(src=PEER_LOW, priority=150))) == [
        ["Count", "ADVERT_RCVD"],
        ["Log", 20, "(VI_1) Master received advert from 192.168.200.0 with higher priority 150, ours 100"],
        ["Log", 20, "(VI_1) Entering BACKUP STATE"],
        ["StateChanged", "MASTER", "BACKUP"],
        ["CancelTimer", "GARP_DELAYED"],
        ["Log", 20, "(VI_1) removing VIPs."],
        ["RemoveVips", False],
        ["Notify", "BACKUP", 100],
        ["CancelTimer", "ADVER"],
        ["ArmTimer", "MASTER_DOWN", now + MD],
        ["Count", "RELEASE_MASTER"],
    ]
    assert a.machine.master_priority == 150


def test_equal_priority_higher_address_wins():
    """RFC 5798 §6.4.3: equal priority and a greater primary address: go Backup."""
    a = master()
    assert logs(a.feed(T0 + MD + 1, advert(src=PEER_HIGH, priority=100)))[:2] == [
        "(VI_1) Master received advert from 192.168.200.2 with same priority 100 but higher IP address than ours",
        "(VI_1) Entering BACKUP STATE",
    ]
    assert a.machine.state is State.BACKUP


def test_equal_priority_from_our_own_address_warns_and_stays():
    a = master()
    actions = rendered(a.feed(T0 + MD + 1, advert(src=OURS, priority=100)))
    assert actions == [
        ["Count", "ADVERT_RCVD"],
        ["Log", 20, "(VI_1) WARNING - equal priority advert received from remote host with our IP address."],
        ["ArmTimer", "ADVER", T0 + MD + 1 + S],
    ]


def test_priority_zero_received_by_master_sends_an_advert_at_once():
    """RFC 5798 §6.4.3: priority 0: send an ADVERTISEMENT, reset the Adver_Timer."""
    a = master()
    now = T0 + MD + 100 * MS
    assert rendered(a.feed(now, advert(src=PEER_HIGH, priority=0))) == [
        ["Count", "ADVERT_RCVD"],
        ["Count", "PRI_ZERO_RCVD"],
        ["SendAdvert", 100],
        ["ArmTimer", "ADVER", now + S],
    ]


def test_higher_prio_send_advert_sends_before_yielding():
    a = master(higher_prio_send_advert=True)
    actions = rendered(a.feed(T0 + MD + 1, advert(src=PEER_LOW, priority=150)))
    assert actions[:3] == [["Count", "ADVERT_RCVD"], ["SendAdvert", 100],
                           ["Log", 20, "(VI_1) Master received advert from 192.168.200.0 with higher "
                                       "priority 150, ours 100"]]
    assert a.machine.state is State.BACKUP


def test_higher_prio_send_advert_is_silent_for_a_lower_advert_besides_the_reassertion():
    a = master(higher_prio_send_advert=True)
    actions = a.feed(T0 + MD + 1, advert(src=PEER_LOW, priority=50))
    assert kinds_of(actions).count("SendAdvert") == 1


def test_two_owners_2_2_7_reduces_local_priority_to_254_for_good():
    """keepalived 2.2.7: both 255: log a configuration error, drop base and
    effective priority to 254, and yield."""
    a = master(priority=255)
    now = T0 + S
    actions = rendered(a.feed(now, advert(src=PEER_LOW, priority=255)))
    assert actions[:5] == [
        ["Count", "ADVERT_RCVD"],
        ["Log", 20, "(VI_1) CONFIGURATION ERROR: local instance and a remote instance are both configured as "
                    "address owner, please fix - reducing local priority"],
        ["PriorityUpdated", 255, 254],
        ["Log", 20, "(VI_1) Master received advert from 192.168.200.0 with higher priority 255, ours 254"],
        ["Log", 20, "(VI_1) Entering BACKUP STATE"],
    ]
    m = a.machine
    assert (m.state, m.base_priority, m.effective_priority) == (State.BACKUP, 254, 254)
    # 254 now follows tracking like any non-owner.
    from fastvrrp.vrrp import PriorityChanged
    a.feed(now + 1, PriorityChanged(-4))
    assert m.effective_priority == 250


def test_v3_master_yielding_learns_the_new_masters_interval():
    a = master(version=3, advert_int_cs=100)
    now = T0 + 10 * S
    actions = rendered(a.feed(now, advert(src=PEER_LOW, priority=150, adver_int=50)))
    # 3 * 50 cs + (256 - 100) * 50 / 256 cs
    assert ["ArmTimer", "MASTER_DOWN", now + 1_804_687 * US] in actions


def test_rejected_packets_do_not_delay_the_masters_adverts():
    """Deliberate difference: in 2.2.7 any received packet re-arms the master's
    Adver_Timer, so a peer sending invalid packets can silence us."""
    a = master()
    t = a.timers[TimerKind.ADVER]
    assert rendered(a.feed(t - 1, AdvertRejected(Counter.AUTHTYPE_MISMATCH))) == [["Count", "AUTHTYPE_MISMATCH"]]
    assert rendered(a.feed(t - 1, advert(priority=150, adver_int=3))) == [
        ["Log", 20, "(VI_1) advertisement interval mismatch mine=1 sec rcv'd=3 sec"],
        ["Count", "ADVERT_INTERVAL_ERR"],
    ]
    assert a.timers[TimerKind.ADVER] == t


def test_shutdown_from_master_sends_priority_zero_then_removes_vips():
    """RFC 5798 §6.4.3 Shutdown: cancel Adver_Timer, send priority 0, go Initialize."""
    a = master(log_detail=True)
    assert rendered(a.feed(T0 + 10 * S, Shutdown())) == [
        ["SendAdvert", 0],
        ["Count", "PRI_ZERO_SENT"],
        ["Log", 20, "(VI_1) sent 0 priority"],
        ["CancelTimer", "GARP_DELAYED"],
        ["Log", 20, "(VI_1) removing VIPs."],
        ["RemoveVips", False],
        ["CancelTimer", "ADVER"],
        ["StateChanged", "MASTER", "STOP"],
        ["Notify", "STOP", 100],
    ]
    assert a.timers == {}
    assert a.feed(T0 + 11 * S, Shutdown()) == []


def test_shutdown_from_backup_only_stops():
    """RFC 5798 §6.4.2 Shutdown: cancel Master_Down_Timer."""
    a = Adapter(VrrpMachine(params()))
    a.feed(T0, Startup())
    assert rendered(a.feed(T0 + S, Shutdown())) == [
        ["CancelTimer", "MASTER_DOWN"],
        ["StateChanged", "BACKUP", "STOP"],
        ["Notify", "STOP", 100],
    ]


def test_backup_then_priority_zero_then_takeover_after_skew():
    """The graceful handover: master stops (priority 0), backup is master after Skew_Time."""
    a = Adapter(VrrpMachine(params(priority=99, primary_address=ip("192.168.16.129"))))
    a.feed(T0, Startup())
    a.feed(T0 + S, advert(src=ip("192.168.16.128"), priority=100))
    a.feed(T0 + 2 * S, advert(src=ip("192.168.16.128"), priority=0))
    assert a.timers[TimerKind.MASTER_DOWN] == T0 + 2 * S + 613_281 * US  # (256-99)/256 s
    assert rendered(a.fire(TimerKind.MASTER_DOWN))[0] == ["SendAdvert", 99]


def test_log_detail_resets_a_learned_interval_on_becoming_master():
    """keepalived quirk: vrrp_state_become_master resets Master_Adver_Interval
    to the local value only under -D (log_detail)."""
    for detail, expected_mai in ((True, S // 10), (False, S)):
        a = Adapter(VrrpMachine(params(version=3, advert_int_cs=10, log_detail=detail)))
        a.feed(T0, Startup())
        a.feed(T0 + 1, advert(priority=150, adver_int=100))
        actions = logs(a.fire(TimerKind.MASTER_DOWN))
        line = "(VI_1) changing advert interval from 1000ms to locally configured 100ms"
        assert (line in actions) is detail
        assert a.machine.master_adver_interval_ns == expected_mai
