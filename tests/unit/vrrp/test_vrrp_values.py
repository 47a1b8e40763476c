"""Effective priority (keepalived vrrp_set_effective_priority), decision rules
(RFC 5798 §6.4.2/§6.4.3) and the validation of parameters and events."""

import ipaddress

import pytest

from fastvrrp.vrrp import (AdvertReceived, AdvertRejected, Counter, FaultSet, InstanceParams,
                           PriorityChanged, Startup, State, TimerFired, TimerKind, VrrpMachine)
from fastvrrp.vrrp.priority import effective_priority
from fastvrrp.vrrp.rules import (BackupVerdict, MasterVerdict, address_list_problem, backup_verdict,
                                 compare_addresses, higher_prio_sends_advert, master_verdict,
                                 preempt_delay_holds, v2_interval_matches)

from vrrp_harness import VIP, ip, params

# ------------------------------------------------------------ effective priority


@pytest.mark.parametrize("base,weights,expected", [
    (100, 0, 100), (100, 2, 102), (100, -99, 1), (100, -500, 1), (100, 154, 254),
    (100, 155, 254), (254, 10, 254), (1, -1, 1),
    (255, -100, 255), (255, 50, 255),  # the owner is never changed by tracking
])
def test_effective_priority_clamps_to_1_254_and_keeps_the_owner(base, weights, expected):
    assert effective_priority(base, weights) == expected


@pytest.mark.parametrize("base,weights", [(0, 0), (256, 0), (100, 1.5), (True, 0), (100, None)])
def test_effective_priority_rejects_bad_input(base, weights):
    with pytest.raises(ValueError):
        effective_priority(base, weights)


# ------------------------------------------------------------------------ rules


def test_addresses_compare_unsigned_big_endian():
    """RFC 5798 §6.4.3: "primary IP address ... greater", as unsigned integers."""
    assert compare_addresses(ip("10.0.0.2"), ip("10.0.0.1")) == 1
    assert compare_addresses(ip("10.0.0.1"), ip("10.0.0.2")) == -1
    assert compare_addresses(ip("10.0.0.1"), ip("10.0.0.1")) == 0
    # The top bit set: a signed comparison would get these backwards.
    assert compare_addresses(ip("200.0.0.1"), ip("10.0.0.1")) == 1
    assert compare_addresses(ip("fe80::2"), ip("fe80::1")) == 1
    assert compare_addresses(ip("fe80::1:0:0:0"), ip("fe80::ffff:ffff")) == 1
    assert compare_addresses(ip("10.0.0.1"), None) == 1


@pytest.mark.parametrize("adv,ours,nopreempt,holding,verdict", [
    (0, 100, False, False, BackupVerdict.PRIORITY_ZERO),
    (0, 100, True, False, BackupVerdict.PRIORITY_ZERO),
    (150, 100, False, False, BackupVerdict.ACCEPT),
    (100, 100, False, False, BackupVerdict.ACCEPT),  # equal: accepted, no address compare
    (99, 100, False, False, BackupVerdict.DISCARD_LOWER),
    (1, 100, True, False, BackupVerdict.ACCEPT),  # RFC 5798 §6.4.2 Preempt_Mode False
    (99, 100, False, True, BackupVerdict.ACCEPT),  # preempt_delay holding
])
def test_backup_verdict(adv, ours, nopreempt, holding, verdict):
    """RFC 5798 §6.4.2 / RFC 3768 §6.4.2."""
    assert backup_verdict(adv, ours, nopreempt, holding) is verdict


@pytest.mark.parametrize("adv,ours,cmp,verdict", [
    (0, 100, 1, MasterVerdict.PRIORITY_ZERO),
    (99, 100, 1, MasterVerdict.LOWER),
    (100, 100, -1, MasterVerdict.LOWER),
    (100, 100, 1, MasterVerdict.HIGHER),
    (101, 100, -1, MasterVerdict.HIGHER),
    (100, 100, 0, MasterVerdict.SAME_ADDRESS),
    (255, 255, 1, MasterVerdict.OWNER_CONFLICT),
    (255, 255, -1, MasterVerdict.OWNER_CONFLICT),
    (255, 255, 0, MasterVerdict.SAME_ADDRESS),
])
def test_master_verdict(adv, ours, cmp, verdict):
    """RFC 5798 §6.4.3 / RFC 3768 §6.4.3, with keepalived 2.2.7's owner conflict."""
    assert master_verdict(adv, ours, cmp) is verdict


def test_higher_prio_sends_advert_only_for_a_winner():
    assert higher_prio_sends_advert(101, 100, -1)
    assert higher_prio_sends_advert(100, 100, 1)
    assert not higher_prio_sends_advert(100, 100, 0)
    assert not higher_prio_sends_advert(99, 100, 1)


def test_preempt_delay_holds_until_its_deadline():
    assert not preempt_delay_holds(0, None, 5)
    assert preempt_delay_holds(10, None, 5)  # not started yet: the first lower advert starts it
    assert preempt_delay_holds(10, 6, 5)
    assert not preempt_delay_holds(10, 5, 5)


def test_v2_interval_match():
    """RFC 3768 §7.1: the Adver Int MUST be the same as the locally configured one."""
    assert v2_interval_matches(1, 100)
    assert not v2_interval_matches(2, 100)


def test_address_list_problem():
    """RFC 5798 §7.1: count always compared; the list only when asked."""
    a, b = ip("10.0.0.1"), ip("10.0.0.2")
    assert address_list_problem((a, b), (b, a), True) is None
    assert address_list_problem((a,), (a, b), False) == ("count", None)
    assert address_list_problem((a, b), (a, a), True) == ("missing", b)
    assert address_list_problem((a, b), (a, a), False) is None


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize("overrides,message", [
    (dict(name=""), "name must be a non-empty string"),
    (dict(vrid=0), "virtual_router_id must be 1..255"),
    (dict(vrid=256), "virtual_router_id must be 1..255"),
    (dict(version=4), "version must be 2 or 3"),
    (dict(priority=0), "priority must be an integer 1..255"),
    (dict(priority=256), "priority must be an integer 1..255"),
    (dict(version=2, advert_int_cs=150), "whole seconds 1..255"),
    (dict(version=2, advert_int_cs=25600), "whole seconds 1..255"),
    (dict(version=3, advert_int_cs=0), "1..4095 centiseconds"),
    (dict(version=3, advert_int_cs=4096), "1..4095 centiseconds"),
    (dict(vips=[VIP]), "vips must be a tuple"),
    (dict(vips=("10.0.0.1",)), "a VIP must be an IPv4Address"),
    (dict(version=3, vips=(ip("fe80::1"),), primary_address=ip("10.0.0.1")), "mix IPv4 and IPv6"),
    (dict(version=2, vips=(ip("fe80::1"),), primary_address=None), "VRRPv2 carries IPv4 only"),
    (dict(initial_state=State.FAULT), "initial state must be MASTER or BACKUP"),
    (dict(preempt_delay_ns=-1), "preempt_delay must be 0..1000 s"),
    (dict(preempt_delay_ns=1001 * 10**9), "preempt_delay must be 0..1000 s"),
    (dict(down_timer_adverts=0), "down_timer_adverts must be 1..100"),
    (dict(garp_master_repeat=-1), "garp_master_repeat must be a non-negative integer"),
    (dict(nopreempt=1), "nopreempt must be a bool"),
])
def test_bad_params_are_clear_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        params(**overrides)


def test_params_derive_keepalived_wantstate():
    assert params(priority=255).wantstate is State.MASTER
    assert params(priority=100).wantstate is State.BACKUP
    assert params(priority=100, initial_state=State.MASTER).wantstate is State.MASTER
    assert params(priority=255, initial_state=State.BACKUP).wantstate is State.BACKUP
    assert params(version=3, advert_int_cs=7).advert_int_us == 70_000


@pytest.mark.parametrize("build,message", [
    (lambda: AdvertReceived("10.0.0.1", 100, 1, ()), "source must be an IPv4Address"),
    (lambda: AdvertReceived(ip("10.0.0.1"), 256, 1, ()), "priority must be 0..255"),
    (lambda: AdvertReceived(ip("10.0.0.1"), 100, 4096, ()), "interval field must be 0..4095"),
    (lambda: AdvertReceived(ip("10.0.0.1"), 100, 1, [VIP]), "addresses must be a tuple"),
    (lambda: AdvertReceived(ip("10.0.0.1"), 100, 1, ("x",)), "advert address must be"),
    (lambda: AdvertRejected(Counter.ADVERT_RCVD), "reason must be one of"),
    (lambda: TimerFired("MASTER_DOWN", 1), "timer kind must be a TimerKind"),
    (lambda: TimerFired(TimerKind.ADVER, 1.0), "deadline must be an integer"),
    (lambda: PriorityChanged(2.5), "weight total must be an integer"),
    (lambda: FaultSet(""), "non-empty string"),
    (lambda: Startup(-1), "startup_delay_ns must be a non-negative integer"),
])
def test_bad_events_are_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_machine_rejects_what_is_not_an_event_or_a_time():
    machine = VrrpMachine(params())
    with pytest.raises(TypeError, match="not a VRRP machine event"):
        machine.handle(0, "Startup")
    with pytest.raises(TypeError, match="now_ns must be an integer"):
        machine.handle(0.5, Startup())
    with pytest.raises(TypeError, match="needs an InstanceParams"):
        VrrpMachine({"name": "VI_1"})


def test_ipv6_v3_params_are_accepted():
    p = InstanceParams(name="VI_6", vrid=1, version=3, vips=(ipaddress.ip_address("fe80::1"),),
                       primary_address=ipaddress.ip_address("fe80::2"))
    assert p.vips[0].version == 6
