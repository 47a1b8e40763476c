"""Events fed to the state machine (`VrrpMachine.handle(now_ns, event)`).

Each event validates its own fields: a malformed event raises ValueError when it
is built, so the machine only ever sees well-formed input.  Whether an event
makes sense in the current state is the machine's business: it ignores what it
cannot use (a stale timer expiry, an advert while in FAULT) rather than raising.
"""

from __future__ import annotations

import ipaddress
from typing import Optional, Union

from .actions import Record
from .kinds import REJECT_COUNTERS, Counter, State, TimerKind
from .params import InstanceParams
from .timers import V3_MAX_ADVER_INT_CS

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_set = object.__setattr__      # a Record's fields are set once, in __init__


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_startup_delay(startup_delay_ns) -> None:
    if not _is_int(startup_delay_ns) or startup_delay_ns < 0:
        raise ValueError("startup_delay_ns must be a non-negative integer, not %r"
                         % (startup_delay_ns,))


def _check_reason(kind: str, reason) -> None:
    if not isinstance(reason, str) or not reason:
        raise ValueError("%s reason must be a non-empty string, not %r" % (kind, reason))


class Startup(Record):
    """RFC 5798 §6.4.1: leave Initialize.

    `startup_delay_ns` is keepalived's `vrrp_startup_delay` (pass it on the
    process's first start only): until it ends, received adverts are discarded,
    Master_Down_Timer runs from the end of the delay, and an instance that
    becomes master sends nothing until then.
    """

    __slots__ = ("startup_delay_ns",)
    startup_delay_ns: int

    def __init__(self, startup_delay_ns: int = 0) -> None:
        _set(self, "startup_delay_ns", startup_delay_ns)
        self._check()

    def _check(self) -> None:
        _check_startup_delay(self.startup_delay_ns)


class Shutdown(Record):
    """RFC 5798 §6.4.2/§6.4.3 Shutdown event: stop the instance (keepalived's STOP)."""

    __slots__ = ()


class AdvertReceived(Record):
    """An ADVERTISEMENT that passed the codec's checks (RFC 5798 §7.1).

    `adver_int` is the packet's interval field as sent: whole seconds for
    VRRPv2 (RFC 3768 §5.3.7), Max Adver Int in centiseconds for VRRPv3
    (RFC 5798 §5.2.7).  The v2 "must equal ours" check is the machine's.
    `addresses` are the IPvX Address(es) listed in the packet, in order; the
    machine compares them with its VIPs (mismatches are logged and counted,
    and the advert is still accepted, as keepalived ≥ 2.3.3 does).
    """

    __slots__ = ("src", "priority", "adver_int", "addresses")
    src: IPAddress
    priority: int
    adver_int: int
    addresses: tuple

    def __init__(self, src: IPAddress, priority: int, adver_int: int, addresses: tuple) -> None:
        _set(self, "src", src)
        _set(self, "priority", priority)
        _set(self, "adver_int", adver_int)
        _set(self, "addresses", addresses)
        self._check()

    def _check(self) -> None:
        if not isinstance(self.src, _IP_TYPES):
            raise ValueError("advert source must be an IPv4Address or IPv6Address, not %r" % (self.src,))
        if not _is_int(self.priority) or not 0 <= self.priority <= 255:
            raise ValueError("advert priority must be 0..255, not %r" % (self.priority,))
        if not _is_int(self.adver_int) or not 0 <= self.adver_int <= V3_MAX_ADVER_INT_CS:
            raise ValueError("advert interval field must be 0..4095, not %r" % (self.adver_int,))
        if not isinstance(self.addresses, tuple):
            raise ValueError("advert addresses must be a tuple, not %r" % (type(self.addresses).__name__,))
        for address in self.addresses:
            if not isinstance(address, _IP_TYPES):
                raise ValueError("advert address must be an IPv4Address or IPv6Address, not %r" % (address,))


class AdvertRejected(Record):
    """A packet for this instance that failed a check (RFC 5798 §7.1 MUST discard).

    `reason` is the counter keepalived increments for it.  The machine counts it
    (unless the instance ignores packets: INIT, FAULT, STOP, delayed start) and
    changes nothing else.
    """

    __slots__ = ("reason",)
    reason: Counter

    def __init__(self, reason: Counter) -> None:
        _set(self, "reason", reason)
        self._check()

    def _check(self) -> None:
        if self.reason not in REJECT_COUNTERS:
            raise ValueError("a rejected advert's reason must be one of %s, not %r"
                             % (sorted(c.value for c in REJECT_COUNTERS), self.reason))


class TimerFired(Record):
    """A timer armed by an ArmTimer action expired.

    `deadline_ns` is the deadline it was armed with: an expiry for a timer that
    has since been cancelled or re-armed does not match and is ignored.
    """

    __slots__ = ("kind", "deadline_ns")
    kind: TimerKind
    deadline_ns: int

    def __init__(self, kind: TimerKind, deadline_ns: int) -> None:
        _set(self, "kind", kind)
        _set(self, "deadline_ns", deadline_ns)
        self._check()

    def _check(self) -> None:
        if not isinstance(self.kind, TimerKind):
            raise ValueError("timer kind must be a TimerKind, not %r" % (self.kind,))
        if not _is_int(self.deadline_ns):
            raise ValueError("timer deadline must be an integer (ns), not %r" % (self.deadline_ns,))


class PriorityChanged(Record):
    """Tracking changed: `weight_total` is the sum of every tracker's contribution.

    The machine computes the effective priority (priority.py) from its base
    priority and this total.
    """

    __slots__ = ("weight_total",)
    weight_total: int

    def __init__(self, weight_total: int) -> None:
        _set(self, "weight_total", weight_total)
        self._check()

    def _check(self) -> None:
        if not _is_int(self.weight_total) or abs(self.weight_total) > 1_000_000:
            raise ValueError("tracking weight total must be an integer within ±1,000,000, not %r"
                             % (self.weight_total,))


class FaultSet(Record):
    """A fault reason became active (a tracked interface down, a weight-0 script
    failing, no source address, …).  Several reasons may be active at once; the
    instance is in FAULT while any is.

    `pending=True` marks a tracker that has not reported yet (keepalived: an
    unweighted script before its first result): before Startup it holds the
    instance out of service without a FAULT notification.  Setting the same
    reason again with `pending=False` turns it into a real fault.
    """

    __slots__ = ("reason", "pending")
    reason: str
    pending: bool

    def __init__(self, reason: str, pending: bool = False) -> None:
        _set(self, "reason", reason)
        _set(self, "pending", pending)
        self._check()

    def _check(self) -> None:
        _check_reason("fault", self.reason)
        if not isinstance(self.pending, bool):
            raise ValueError("fault pending flag must be a bool, not %r" % (self.pending,))


class FaultCleared(Record):
    """A fault reason (or a pending tracker) is gone."""

    __slots__ = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        _set(self, "reason", reason)
        self._check()

    def _check(self) -> None:
        _check_reason("fault", self.reason)


class SourceAddressChanged(Record):
    """The instance's primary (source) address changed; used for the RFC 5798
    §6.4.3 equal-priority tie-break.  None: the interface has no address."""

    __slots__ = ("address",)
    address: Optional[IPAddress]

    def __init__(self, address: Optional[IPAddress]) -> None:
        _set(self, "address", address)
        self._check()

    def _check(self) -> None:
        if self.address is not None and not isinstance(self.address, _IP_TYPES):
            raise ValueError("source address must be an IP address or None, not %r" % (self.address,))


class Reconfigure(Record):
    """Reload (SIGHUP) of a running instance whose identity is unchanged
    (keepalived-vrrp.md §3.17; keepalived vrrp.c vrrp_exist / clear_diff_vrrp,
    vrrp_scheduler.c vrrp_init_state with `reload`): the instance keeps its
    state and takes `params` (priority, Advertisement_Interval, VIPs,
    preemption, GARP settings, ...).

    `weight_total`: the tracking weight total under the new configuration
    (None: unchanged), so that the effective priority of the first advert
    is already the new one.  `addresses_added`: the reload adds VIPs or
    eVIPs to the host (keepalived's have_new_addr), which makes a MASTER
    send a GARP / NA burst.  The VRID and the sync group cannot change in
    place: the machine refuses such a Reconfigure (ValueError), the engine
    restarts those instances instead.
    """

    __slots__ = ("params", "weight_total", "addresses_added")
    params: InstanceParams
    weight_total: Optional[int]
    addresses_added: bool

    def __init__(self, params: InstanceParams,
                 weight_total: Optional[int] = None, addresses_added: bool = False) -> None:
        _set(self, "params", params)
        _set(self, "weight_total", weight_total)
        _set(self, "addresses_added", addresses_added)
        self._check()

    def _check(self) -> None:
        if not isinstance(self.params, InstanceParams):
            raise ValueError("Reconfigure needs an InstanceParams, not %r"
                             % (type(self.params).__name__,))
        if self.weight_total is not None and (not _is_int(self.weight_total)
                                              or abs(self.weight_total) > 1_000_000):
            raise ValueError("tracking weight total must be None or an integer within "
                             "±1,000,000, not %r" % (self.weight_total,))
        if not isinstance(self.addresses_added, bool):
            raise ValueError("addresses_added must be a bool, not %r" % (self.addresses_added,))


# ------------------------------------------------------------------ sync groups
#
# What a vrrp_sync_group (fastvrrp.vrrp.sync.SyncGroup) tells a member machine
# (InstanceParams.sync_group set).  Only the group sends these; a machine that
# is not a member refuses them.  keepalived-vrrp.md §3.15, keepalived 2.2.7
# vrrp_sync.c.


_GROUP_START_STATES = (State.INIT, State.BACKUP, State.MASTER, State.FAULT)


class SyncStartup(Record):
    """Startup (RFC 5798 §6.4.1) of a sync-group member, given the group's
    initial state (keepalived vrrp_init_state: `new_state = sync->state`).

    FAULT: a member has a fault, so every member starts in FAULT (logged and
    notified, keepalived vrrp_complete_init); INIT: a member's tracker has
    not reported yet, so every member waits silently in FAULT (init);
    BACKUP or MASTER: the member starts on its own, exactly as Startup.
    """

    __slots__ = ("group_state", "startup_delay_ns")
    group_state: State
    startup_delay_ns: int

    def __init__(self, group_state: State, startup_delay_ns: int = 0) -> None:
        _set(self, "group_state", group_state)
        _set(self, "startup_delay_ns", startup_delay_ns)
        self._check()

    def _check(self) -> None:
        if not isinstance(self.group_state, State) or self.group_state not in _GROUP_START_STATES:
            raise ValueError("a sync group starts in INIT, BACKUP, MASTER or FAULT, not %r"
                             % (self.group_state,))
        _check_startup_delay(self.startup_delay_ns)


class SyncGoMaster(Record):
    """The group goes MASTER (keepalived vrrp_sync_master / the consent of
    vrrp_sync_can_goto_master): a BACKUP member, or a member waiting in FAULT
    with no fault of its own, transitions to Master (RFC 5798 §6.4.2)."""

    __slots__ = ()


class SyncHoldBackup(Record):
    """The group refuses a member's MasterWanted (some member does not want
    MASTER): stay BACKUP and wait a full Master_Down_Interval again."""

    __slots__ = ()


class SyncForceBackup(Record):
    """keepalived vrrp_sync_backup: a MASTER member leaves for BACKUP without
    a priority-0 advert (RFC 5798 §6.4.3 as if a higher priority had been
    heard); a member waiting in FAULT enters BACKUP."""

    __slots__ = ()


class SyncForceFault(Record):
    """keepalived vrrp_sync_fault: another member went FAULT.  A MASTER
    member sends one priority-0 advert and drops its VIPs; a BACKUP member
    enters FAULT without a log line of its own; both notify FAULT."""

    __slots__ = ()


class SyncLeaveFault(Record):
    """Every member of the group has recovered: this member, which reported
    FaultRecovered, leaves FAULT (keepalived try_up_instance).  An address
    owner that wants MASTER becomes master when `master_ok`, else BACKUP."""

    __slots__ = ("master_ok",)
    master_ok: bool

    def __init__(self, master_ok: bool = False) -> None:
        _set(self, "master_ok", master_ok)
        self._check()

    def _check(self) -> None:
        if not isinstance(self.master_ok, bool):
            raise ValueError("master_ok must be a bool, not %r" % (self.master_ok,))


SYNC_EVENTS = (SyncStartup, SyncGoMaster, SyncHoldBackup, SyncForceBackup, SyncForceFault,
               SyncLeaveFault)

Event = Union[Startup, Shutdown, AdvertReceived, AdvertRejected, TimerFired, PriorityChanged,
              FaultSet, FaultCleared, SourceAddressChanged, Reconfigure, SyncStartup, SyncGoMaster,
              SyncHoldBackup, SyncForceBackup, SyncForceFault, SyncLeaveFault]
