"""Reload of a running instance: the Reconfigure event (keepalived-vrrp.md §3.17;
keepalived 2.2.7 vrrp.c restore_vrrp_state / clear_diff_vrrp, vrrp_scheduler.c
vrrp_init_state and vrrp_init_instance_sands with `reload`).

The state is kept; the new parameters apply at once (RFC 5798 §6.4.2 Backup,
§6.4.3 Master)."""

import dataclasses

import pytest

from fastvrrp.vrrp import FaultCleared, FaultSet, PriorityChanged, Startup, State, TimerKind, VrrpMachine
from fastvrrp.vrrp.events import Reconfigure

from vrrp_harness import (MS, PEER_HIGH, PEER_LOW, S, US, VIP, Adapter, advert, ip, kinds_of, params,
                          rendered)

T0 = 50 * S
MD = 3_609_375 * US          # Master_Down_Interval at priority 100, 1 s (v2)
VIP2 = ip("192.168.200.17")


def master(**overrides) -> Adapter:
    a = Adapter(VrrpMachine(params(**overrides)))
    a.feed(T0, Startup())
    a.fire(TimerKind.MASTER_DOWN)
    assert a.machine.state is State.MASTER
    return a


def backup(**overrides) -> Adapter:
    """BACKUP that has accepted an advert from PEER_HIGH at priority 200."""
    a = Adapter(VrrpMachine(params(**overrides)))
    a.feed(T0, Startup())
    a.feed(T0 + S, advert(src=PEER_HIGH, priority=200))
    assert a.machine.state is State.BACKUP and a.machine.master_addr == PEER_HIGH
    return a


def reconf(a: Adapter, at: int, **overrides) -> list:
    """Feed Reconfigure with the machine's params changed by `overrides`."""
    extra = {k: overrides.pop(k) for k in ("weight_total", "addresses_added") if k in overrides}
    return a.feed(at, Reconfigure(dataclasses.replace(a.machine.params, **overrides), **extra))


# ------------------------------------------------------------------ MASTER


def test_master_priority_change_keeps_master_and_advertises_at_once():
    """§3.17: a reloaded MASTER stays MASTER, its VIPs are diffed, and the
    advert with the new priority goes out now (vrrp_init_instance_sands:
    sands = now), the Adver_Timer re-armed from now (RFC 5798 §6.4.3)."""
    a = master()
    t = T0 + MD + 2 * S
    assert rendered(reconf(a, t, priority=150)) == [
        ["PriorityUpdated", 100, 150],
        ["CancelTimer", "GARP_DELAYED"],
        ["UpdateVips"],
        ["SendAdvert", 150],
        ["ArmTimer", "ADVER", t + S],
    ]
    m = a.machine
    assert m.state is State.MASTER and m.effective_priority == 150 and m.base_priority == 150
    # the next Adver_Timer expiry carries the new priority too
    assert rendered(a.fire(TimerKind.ADVER)) == [["SendAdvert", 150], ["ArmTimer", "ADVER", t + 2 * S]]


def test_master_unchanged_priority_emits_no_priority_update_and_no_log_or_notify():
    a = master()
    out = reconf(a, T0 + MD + S // 2, vips=(VIP, VIP2))
    assert "PriorityUpdated" not in kinds_of(out)
    assert not {"Log", "Notify", "StateChanged", "AddVips", "RemoveVips"} & set(kinds_of(out))


def test_master_added_addresses_send_a_garp_burst_and_rearm_the_delayed_block():
    """keepalived clear_diff_vrrp: have_new_addr -> vrrp_send_link_update, and
    the second block after garp_master_delay."""
    a = master()
    t = T0 + MD + S
    assert rendered(reconf(a, t, vips=(VIP, VIP2), addresses_added=True)) == [
        ["CancelTimer", "GARP_DELAYED"],
        ["UpdateVips"],
        ["SendGarp", 5],
        ["ArmTimer", "GARP_DELAYED", t + 5 * S],
        ["SendAdvert", 100],
        ["ArmTimer", "ADVER", t + S],
    ]


def test_master_refresh_rearmed_after_the_delay_when_addresses_were_added():
    a = master(garp_master_refresh_ns=60 * S)
    t = T0 + MD + S
    out = rendered(reconf(a, t, addresses_added=True))
    assert ["ArmTimer", "GARP_REFRESH", t + 5 * S + 60 * S] in out
    assert ["SendGarp", 5] in out
    # without added addresses: a burst still goes (refresh configured), refresh from now
    out = rendered(reconf(a, t + S))
    assert ["SendGarp", 5] in out
    assert ["ArmTimer", "GARP_REFRESH", t + S + 60 * S] in out
    assert ["ArmTimer", "GARP_DELAYED", t + S + 5 * S] not in out


def test_master_advert_int_change_rearms_the_adver_timer_with_the_new_interval():
    a = master(version=3, advert_int_cs=100)
    t = T0 + 4 * S
    out = rendered(reconf(a, t, advert_int_cs=10))
    assert out[-2:] == [["SendAdvert", 100], ["ArmTimer", "ADVER", t + 100 * MS]]
    assert a.machine.master_adver_interval_ns == 100 * MS


def test_master_that_is_now_below_a_peer_keeps_master_until_the_peer_preempts():
    """keepalived does not look at peers on reload: the peer (preempting,
    higher) takes over and we yield on its advert (RFC 5798 §6.4.3)."""
    a = master()
    t = T0 + MD + S
    reconf(a, t, priority=50)
    assert a.machine.state is State.MASTER
    out = a.feed(t + 10 * MS, advert(src=PEER_LOW, priority=100))
    assert a.machine.state is State.BACKUP
    assert ["StateChanged", "MASTER", "BACKUP"] in rendered(out)


def test_master_weight_total_given_gives_one_priority_update_and_the_right_advert():
    a = master()
    t = T0 + MD + S
    out = rendered(reconf(a, t, priority=120, weight_total=-30))
    assert out[0] == ["PriorityUpdated", 100, 90]
    assert ["SendAdvert", 90] in out
    assert [o for o in out if o[0] == "PriorityUpdated"] == [["PriorityUpdated", 100, 90]]


def test_weight_total_none_keeps_the_current_tracking_weights():
    a = master()
    a.feed(T0 + MD + S, PriorityChanged(10))
    assert a.machine.effective_priority == 110
    reconf(a, T0 + MD + 2 * S, priority=120)
    assert a.machine.effective_priority == 130


def test_becoming_owner_ignores_weights_and_becoming_non_owner_applies_them():
    """RFC 5798 §5.2.4: the owner advertises 255 whatever tracking says."""
    a = master()
    a.feed(T0 + MD + S, PriorityChanged(-20))
    assert a.machine.effective_priority == 80
    out = rendered(reconf(a, T0 + MD + 2 * S, priority=255))
    assert out[0] == ["PriorityUpdated", 80, 255] and ["SendAdvert", 255] in out
    out = rendered(reconf(a, T0 + MD + 3 * S, priority=200))
    assert out[0] == ["PriorityUpdated", 255, 180] and ["SendAdvert", 180] in out


def test_owner_conflict_reduction_is_reset_by_the_new_config():
    """keepalived: the base priority 254 of an owner conflict lives in the old
    vrrp_t; the reloaded one has the configured 255 again."""
    a = master(priority=255, initial_state=State.MASTER)
    a.feed(T0 + S, advert(src=PEER_HIGH, priority=255))
    assert a.machine.base_priority == 254
    reconf(a, T0 + 2 * S, priority=255)
    assert a.machine.base_priority == 255


# ------------------------------------------------------------------ BACKUP


def test_backup_restarts_its_master_down_timer_silently_and_forgets_the_master():
    """keepalived vrrp_init_state on reload: a BACKUP keeps BACKUP, no log and
    no notify; ms_down_timer from the new Master_Down_Interval, from now."""
    a = backup()
    t = T0 + 3 * S
    out = rendered(reconf(a, t, priority=120))
    skew = (256 - 120) * S // 256
    assert out == [["PriorityUpdated", 100, 120],
                   ["ArmTimer", "MASTER_DOWN", t + 3 * S + skew]]
    m = a.machine
    assert m.state is State.BACKUP and m.master_addr is None and m.master_priority == 0


def test_backup_now_above_its_master_preempts_after_master_down_interval():
    """RFC 5798 §6.4.2: a lower advert is discarded by a preempting backup,
    whose Master_Down_Timer then fires."""
    a = backup()
    t = T0 + 3 * S
    reconf(a, t, priority=250)
    a.feed(t + S, advert(src=PEER_HIGH, priority=200))
    assert a.machine.state is State.BACKUP
    out = a.fire(TimerKind.MASTER_DOWN)
    assert a.machine.state is State.MASTER and "AddVips" in kinds_of(out)


def test_backup_becoming_owner_stays_backup_until_its_timer_fires():
    a = backup()
    t = T0 + 3 * S
    out = rendered(reconf(a, t, priority=255))
    assert ["ArmTimer", "MASTER_DOWN", t + 3 * S + 3_906 * US] in out   # RFC 3768 Skew_Time (1/256 s)
    assert a.machine.state is State.BACKUP


def test_backup_forgets_a_running_preempt_delay():
    a = Adapter(VrrpMachine(params(preempt_delay_ns=30 * S)))
    a.feed(T0, Startup())
    a.feed(T0 + S, advert(src=PEER_LOW, priority=50))   # lower: preempt delay starts
    # (discarded as lower while preempting; the delay starts on accepted adverts only)
    a.feed(T0 + S, advert(src=PEER_HIGH, priority=100))
    reconf(a, T0 + 2 * S, priority=150)
    assert a.machine.preempt_until_ns is None


def test_backup_v3_learned_interval_goes_back_to_the_configured_one():
    a = Adapter(VrrpMachine(params(version=3, advert_int_cs=100)))
    a.feed(T0, Startup())
    a.feed(T0 + S, advert(src=PEER_HIGH, priority=200, adver_int=50))
    assert a.machine.master_adver_interval_ns == 500 * MS
    reconf(a, T0 + 2 * S, advert_int_cs=200)
    assert a.machine.master_adver_interval_ns == 2 * S


# ------------------------------------------------------------------ FAULT, INIT


def test_fault_only_swaps_the_parameters_and_leaves_fault_with_the_new_ones():
    a = backup()
    a.feed(T0 + 2 * S, FaultSet("eth0 down"))
    assert a.machine.state is State.FAULT
    out = rendered(reconf(a, T0 + 3 * S, priority=150, advert_int_cs=200))
    assert out == [["PriorityUpdated", 100, 150]]
    a.feed(T0 + 4 * S, FaultCleared("eth0 down"))
    assert a.machine.state is State.BACKUP
    # RFC 3768 §6.1: 3 x Advertisement_Interval + (256 - 150) / 256 s
    assert a.timers[TimerKind.MASTER_DOWN] == T0 + 4 * S + 3 * 2 * S + 414_062 * US


def test_init_swaps_params_without_actions_and_starts_with_them():
    a = Adapter(VrrpMachine(params()))
    assert rendered(reconf(a, T0, advert_int_cs=200)) == []
    a.feed(T0 + S, Startup())
    assert a.timers[TimerKind.MASTER_DOWN] == T0 + S + 3 * 2 * S + 609_375 * US


def test_rename_changes_the_log_prefix():
    """keepalived matches by identity, not by name: a renamed instance keeps running."""
    a = backup()
    reconf(a, T0 + 2 * S, name="VI_NEW")
    a.feed(T0 + 3 * S, FaultSet("x"))
    lines = [x.text for x in a.trace[-1][2] if type(x).__name__ == "Log"]
    assert lines and all(line.startswith("(VI_NEW) ") for line in lines)


# ------------------------------------------------------------------ refused


def test_vrid_change_is_refused_with_a_clear_error():
    a = backup()
    with pytest.raises(ValueError, match="virtual_router_id 51 to 52"):
        a.machine.handle(T0, Reconfigure(dataclasses.replace(a.machine.params, vrid=52)))
    assert a.machine.params.vrid == 51


def test_sync_group_change_is_refused():
    a = backup()
    with pytest.raises(ValueError, match="sync group"):
        a.machine.handle(T0, Reconfigure(dataclasses.replace(a.machine.params, sync_group="G")))


@pytest.mark.parametrize("kwargs, text", [
    (dict(params="VI_1"), "InstanceParams"),
    (dict(params=params(), weight_total=2_000_000), "weight total"),
    (dict(params=params(), weight_total=True), "weight total"),
    (dict(params=params(), addresses_added=1), "addresses_added"),
])
def test_malformed_reconfigure_events_are_refused(kwargs, text):
    with pytest.raises(ValueError, match=text):
        Reconfigure(**kwargs)
