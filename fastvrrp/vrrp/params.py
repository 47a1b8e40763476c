"""The frozen per-instance parameters the state machine runs on.

Plain values only: the engine fills them from the config model (with keepalived's
derived defaults already applied: `state MASTER` without `priority` means 255,
an owner or `state MASTER` clears `nopreempt` and `preempt_delay`, strict mode's
overrides, …).  The machine executes them literally.

Durations are integer nanoseconds, except the advertisement interval, which is
kept in the RFC unit (centiseconds) because keepalived's timer arithmetic
depends on it (timers.py).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Union

from .kinds import State
from .priority import PRIORITY_OWNER, check_base_priority
from .timers import NS_PER_S, US_PER_CS, V2_MAX_ADVER_INT_S, V3_MAX_ADVER_INT_CS, shared_int

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

MAX_PREEMPT_DELAY_NS = 1000 * NS_PER_S  # keepalived: preempt_delay 0..1000 s


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class InstanceParams:
    name: str  # the vrrp_instance name; every log line starts "(name) "
    vrid: int  # RFC 5798 §5.2.3, 1..255
    version: int = 2  # 2 (RFC 3768) or 3 (RFC 5798)
    priority: int = 100  # base priority, RFC 5798 §5.2.4 (255 = address owner)
    advert_int_cs: int = 100  # Advertisement_Interval (RFC 5798 §5.2.7), centiseconds
    vips: tuple = ()  # the addresses this instance advertises, config order
    primary_address: Optional[IPAddress] = None  # our source address, for the tie-break
    initial_state: Optional[State] = None  # keepalived `state`; None: MASTER iff owner
    nopreempt: bool = False  # RFC 5798 §6.1 Preempt_Mode False
    preempt_delay_ns: int = 0
    down_timer_adverts: int = 3
    skip_check_adv_addr: bool = False
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    garp_master_delay_ns: int = 5 * NS_PER_S
    garp_master_repeat: int = 5
    garp_master_refresh_ns: int = 0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay_ns: int = 5 * NS_PER_S
    garp_lower_prio_repeat: int = 5
    unicast: bool = False
    log_detail: bool = False  # keepalived -D: the extra log lines (and one quirk, see machine)
    sync_group: Optional[str] = None  # the vrrp_sync_group it belongs to (sync.py drives it)

    def __post_init__(self) -> None:
        who = "vrrp instance %r" % (self.name,)
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("vrrp instance name must be a non-empty string, not %r" % (self.name,))
        if not _is_int(self.vrid) or not 1 <= self.vrid <= 255:
            raise ValueError("%s: virtual_router_id must be 1..255, not %r" % (who, self.vrid))
        if self.version not in (2, 3) or isinstance(self.version, bool):
            raise ValueError("%s: version must be 2 or 3, not %r" % (who, self.version))
        try:
            check_base_priority(self.priority)
        except ValueError as exc:
            raise ValueError("%s: %s" % (who, exc)) from None
        self._check_advert_int(who)
        self._check_addresses(who)
        if self.initial_state is not None and self.initial_state not in (State.MASTER, State.BACKUP):
            raise ValueError("%s: initial state must be MASTER or BACKUP, not %r" % (who, self.initial_state))
        if not _is_int(self.preempt_delay_ns) or not 0 <= self.preempt_delay_ns <= MAX_PREEMPT_DELAY_NS:
            raise ValueError("%s: preempt_delay must be 0..1000 s, not %r ns" % (who, self.preempt_delay_ns))
        if not _is_int(self.down_timer_adverts) or not 1 <= self.down_timer_adverts <= 100:
            raise ValueError("%s: down_timer_adverts must be 1..100, not %r" % (who, self.down_timer_adverts))
        for name in ("garp_master_delay_ns", "garp_master_refresh_ns", "garp_lower_prio_delay_ns",
                     "garp_master_repeat", "garp_master_refresh_repeat", "garp_lower_prio_repeat"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise ValueError("%s: %s must be a non-negative integer, not %r" % (who, name, value))
        for name in ("nopreempt", "skip_check_adv_addr", "lower_prio_no_advert",
                     "higher_prio_send_advert", "unicast", "log_detail"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError("%s: %s must be a bool, not %r" % (who, name, getattr(self, name)))
        if self.sync_group is not None and (not isinstance(self.sync_group, str) or not self.sync_group):
            raise ValueError("%s: sync_group must be a non-empty string or None, not %r"
                             % (who, self.sync_group))

    def _check_advert_int(self, who: str) -> None:
        cs = self.advert_int_cs
        if self.version == 2:
            # RFC 3768 §5.3.7: whole seconds in 8 bits; keepalived rounds v2 to seconds.
            if not _is_int(cs) or cs % 100 or not 1 <= cs // 100 <= V2_MAX_ADVER_INT_S:
                raise ValueError("%s: a VRRPv2 advert_int must be whole seconds 1..255, not %r cs" % (who, cs))
        elif not _is_int(cs) or not 1 <= cs <= V3_MAX_ADVER_INT_CS:
            # RFC 5798 §5.2.7: 12 bits of centiseconds.
            raise ValueError("%s: a VRRPv3 advert_int must be 1..4095 centiseconds, not %r" % (who, cs))

    def _check_addresses(self, who: str) -> None:
        if not isinstance(self.vips, tuple):
            raise ValueError("%s: vips must be a tuple of IP addresses, not %r" % (who, type(self.vips).__name__))
        families = set()
        for vip in self.vips:
            if not isinstance(vip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
                raise ValueError("%s: a VIP must be an IPv4Address or IPv6Address, not %r" % (who, vip))
            families.add(vip.version)
        if self.primary_address is not None:
            if not isinstance(self.primary_address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
                raise ValueError("%s: primary_address must be an IP address or None, not %r"
                                 % (who, self.primary_address))
            families.add(self.primary_address.version)
        if len(families) > 1:
            raise ValueError("%s: VIPs and primary address mix IPv4 and IPv6" % who)
        if self.version == 2 and 6 in families:
            raise ValueError("%s: VRRPv2 carries IPv4 only (RFC 3768); use version 3 for IPv6" % who)

    @property
    def advert_int_us(self) -> int:
        return shared_int(self.advert_int_cs * US_PER_CS)      # one object per value (issue 6)

    @property
    def owner(self) -> bool:
        """RFC 5798 §5.2.4: priority 255 is the address owner."""
        return self.priority == PRIORITY_OWNER

    @property
    def wantstate(self) -> State:
        """keepalived's initial wantstate: `state`, else MASTER for an owner, else BACKUP."""
        if self.initial_state is not None:
            return self.initial_state
        return State.MASTER if self.owner else State.BACKUP
