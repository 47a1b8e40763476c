"""RFC 5798 §6.4.2 / RFC 3768 §6.4.2: Backup receiving adverts (keepalived-vrrp.md §3.7)."""

from fastvrrp.vrrp import AdvertRejected, Counter, Startup, State, TimerKind, VrrpMachine

from vrrp_harness import PEER_HIGH, PEER_LOW, MS, S, US, VIP, Adapter, advert, ip, logs, params, rendered

T0 = 50 * S


def backup(**overrides) -> Adapter:
    a = Adapter(VrrpMachine(params(**overrides)))
    a.feed(T0, Startup())
    return a


def test_higher_advert_is_accepted_and_rearms_master_down():
    """RFC 5798 §6.4.2: priority >= local: reset Master_Down_Timer."""
    a = backup()
    assert rendered(a.feed(T0 + S, advert(priority=150))) == [
        ["Count", "ADVERT_RCVD"],
        ["ArmTimer", "MASTER_DOWN", T0 + S + 3_609_375 * US],
    ]
    assert a.machine.master_addr == PEER_HIGH and a.machine.master_priority == 150


def test_equal_priority_is_accepted_without_address_comparison():
    """keepalived accepts an equal priority in BACKUP whatever the address."""
    a = backup()
    actions = rendered(a.feed(T0 + S, advert(src=PEER_LOW, priority=100)))
    assert actions[-1] == ["ArmTimer", "MASTER_DOWN", T0 + S + 3_609_375 * US]


def test_lower_advert_is_discarded_and_the_timer_keeps_running():
    """RFC 5798 §6.4.2: Preempt_Mode True and lower priority: discard."""
    a = backup()
    assert rendered(a.feed(T0 + S, advert(src=PEER_LOW, priority=50))) == [
        ["Count", "ADVERT_RCVD"],
        ["Log", 20, "(VI_1) received lower priority (50) advert from 192.168.200.0 - discarding"],
    ]
    assert a.timers[TimerKind.MASTER_DOWN] == T0 + 3_609_375 * US
    # ...and we take over when it expires.
    assert rendered(a.fire(TimerKind.MASTER_DOWN))[0] == ["SendAdvert", 100]


def test_priority_zero_sets_master_down_to_skew_time():
    """RFC 5798 §6.4.2: priority 0 received: Master_Down_Timer = Skew_Time."""
    a = backup()
    assert rendered(a.feed(T0 + S, advert(priority=0))) == [
        ["Count", "ADVERT_RCVD"],
        ["Count", "PRI_ZERO_RCVD"],
        ["ArmTimer", "MASTER_DOWN", T0 + S + 609_375 * US],
    ]


def test_priority_zero_v3_skew_follows_the_interval():
    a = backup(version=3, advert_int_cs=10, priority=200)
    actions = rendered(a.feed(T0 + S, advert(priority=0, adver_int=10)))
    # (256 - 200) * 10 cs / 256 = 21,875 µs
    assert actions[-1] == ["ArmTimer", "MASTER_DOWN", T0 + S + 21_875 * US]


def test_nopreempt_accepts_lower_priority():
    """RFC 5798 §6.1 Preempt_Mode False: a lower master is kept."""
    a = backup(nopreempt=True)
    actions = rendered(a.feed(T0 + S, advert(src=PEER_LOW, priority=1)))
    assert actions == [["Count", "ADVERT_RCVD"], ["ArmTimer", "MASTER_DOWN", T0 + S + 3_609_375 * US]]


def test_preempt_delay_accepts_lower_adverts_until_it_expires():
    """keepalived preempt_delay: started by the first lower advert, then lower
    adverts are discarded once it has passed."""
    a = backup(preempt_delay_ns=5 * S, log_detail=True)
    actions = rendered(a.feed(T0 + S, advert(src=PEER_LOW, priority=50)))
    assert ["Log", 20, "(VI_1) start preempt delay (5.000000)"] in actions
    assert actions[-1] == ["ArmTimer", "MASTER_DOWN", T0 + S + 3_609_375 * US]
    assert a.machine.preempt_until_ns == T0 + 6 * S
    # Still inside the delay: accepted, and not restarted.
    assert rendered(a.feed(T0 + 3 * S, advert(src=PEER_LOW, priority=50)))[-1][0] == "ArmTimer"
    assert a.machine.preempt_until_ns == T0 + 6 * S
    # At the deadline: discarded.
    assert logs(a.feed(T0 + 6 * S, advert(src=PEER_LOW, priority=50))) == [
        "(VI_1) received lower priority (50) advert from 192.168.200.0 - discarding"]


def test_preempt_delay_stops_on_a_higher_or_equal_advert():
    a = backup(preempt_delay_ns=5 * S, log_detail=True)
    a.feed(T0 + S, advert(src=PEER_LOW, priority=50))
    assert "(VI_1) stop preempt delay" in logs(a.feed(T0 + 2 * S, advert(priority=150)))
    assert a.machine.preempt_until_ns is None


def test_v3_backup_learns_master_adver_interval():
    """RFC 5798 §6.4.2: Master_Adver_Interval = the advert's Max Adver Int;
    Skew_Time and Master_Down_Interval follow."""
    a = backup(version=3, advert_int_cs=100, log_detail=True)
    actions = rendered(a.feed(T0 + S, advert(priority=150, adver_int=10)))
    assert ["Log", 20, "(VI_1) advertisement interval updated from 1000ms to 100ms by master"] in actions
    assert actions[-1] == ["ArmTimer", "MASTER_DOWN", T0 + S + 360_937 * US]
    assert a.machine.master_adver_interval_ns == 100 * MS


def test_v3_lower_advert_does_not_teach_its_interval():
    a = backup(version=3, advert_int_cs=100)
    a.feed(T0 + S, advert(src=PEER_LOW, priority=50, adver_int=10))
    assert a.machine.master_adver_interval_ns == S


def test_v2_interval_mismatch_is_dropped_logged_and_counted():
    """RFC 3768 §7.1 MUST discard; counted (deliberately, 2.2.7 does not)."""
    a = backup()
    assert rendered(a.feed(T0 + S, advert(priority=150, adver_int=2))) == [
        ["Log", 20, "(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec"],
        ["Count", "ADVERT_INTERVAL_ERR"],
    ]
    assert a.timers[TimerKind.MASTER_DOWN] == T0 + 3_609_375 * US


def test_v3_interval_mismatch_is_accepted():
    a = backup(version=3, advert_int_cs=100)
    assert rendered(a.feed(T0 + S, advert(priority=150, adver_int=200)))[-1][0] == "ArmTimer"


def test_v3_zero_interval_is_discarded():
    """RFC 5798 erratum 8301: Max Adver Int 0 is invalid."""
    a = backup(version=3)
    actions = rendered(a.feed(T0 + S, advert(priority=150, adver_int=0)))
    assert actions == [
        ["Log", 20, "(VI_1) received advert from 192.168.200.2 with advertisement interval 0 - discarding"],
        ["Count", "ADVERT_INTERVAL_ERR"],
    ]


def test_address_count_mismatch_is_logged_counted_and_accepted():
    """RFC 5798 §7.1 SHOULD log; accepted as keepalived >= 2.3.3 (a deliberate
    difference from 2.2.7)."""
    a = backup()
    actions = rendered(a.feed(T0 + S, advert(priority=150, addresses=(VIP, ip("10.1.1.1")))))
    assert actions == [
        ["Count", "ADVERT_RCVD"],
        ["Log", 20, "(VI_1) expected 1 VIPs but received 2"],
        ["Count", "ADDR_LIST_ERR"],
        ["ArmTimer", "MASTER_DOWN", T0 + S + 3_609_375 * US],
    ]


def test_address_list_mismatch_is_logged_counted_and_accepted():
    a = backup()
    actions = rendered(a.feed(T0 + S, advert(priority=150, addresses=(ip("10.1.1.1"),))))
    assert actions[1:3] == [
        ["Log", 20, "(VI_1) ip address associated with VRID 51 not present in advert from "
                    "192.168.200.2: 192.168.200.16"],
        ["Count", "ADDR_LIST_ERR"],
    ]
    assert actions[-1][0] == "ArmTimer"


def test_skip_check_adv_addr_skips_the_list_for_the_same_master_only():
    a = backup(skip_check_adv_addr=True)
    wrong = (ip("10.1.1.1"),)
    assert "ADDR_LIST_ERR" in str(rendered(a.feed(T0 + S, advert(priority=150, addresses=wrong))))
    assert "ADDR_LIST_ERR" not in str(rendered(a.feed(T0 + 2 * S, advert(priority=150, addresses=wrong))))
    other = ip("192.168.200.3")
    assert "ADDR_LIST_ERR" in str(rendered(a.feed(T0 + 3 * S, advert(src=other, priority=150, addresses=wrong))))


def test_rejected_packets_are_counted_and_change_nothing():
    a = backup()
    assert rendered(a.feed(T0 + S, AdvertRejected(Counter.AUTH_FAILURE))) == [["Count", "AUTH_FAILURE"]]
    assert a.timers[TimerKind.MASTER_DOWN] == T0 + 3_609_375 * US
    assert a.machine.state is State.BACKUP


def test_adverts_are_ignored_before_startup():
    m = VrrpMachine(params())
    assert m.handle(T0, advert(priority=150)) == []
    assert m.handle(T0, AdvertRejected(Counter.AUTH_FAILURE)) == []
    assert m.state is State.INIT


def test_ipv6_v3_backup_logs_compressed_addresses():
    a = Adapter(VrrpMachine(params(version=3, vips=(ip("fe80::10"),), primary_address=ip("fe80::1"))))
    a.feed(T0, Startup())
    assert logs(a.feed(T0 + S, advert(src=ip("fe80::0:0:5"), priority=50, addresses=(ip("fe80::10"),)))) == [
        "(VI_1) received lower priority (50) advert from fe80::5 - discarding"]
