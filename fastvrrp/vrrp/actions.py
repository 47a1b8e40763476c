"""Actions the state machine asks its adapter to perform, in order.

The machine never does I/O: it returns these from `handle()` and the adapter
(the engine, or the fast path's slow lane) executes them in list order.
Timers are absolute monotonic deadlines in ns; arming a kind that is already
armed replaces it (there is at most one timer of each kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .kinds import Counter, NotifyState, State, TimerKind


@dataclass(frozen=True, slots=True)
class SendAdvert:
    """Build and send one ADVERTISEMENT with this priority (RFC 5798 §5).

    0 means "I am stopping" (RFC 5798 §6.4.3 Shutdown).  The sender counts
    `advert_sent`.
    """

    priority: int


@dataclass(frozen=True, slots=True)
class ArmTimer:
    """Arm (or re-arm, replacing) the timer `kind` to expire at `deadline_ns`.

    When it expires, feed back TimerFired(kind, deadline_ns)."""

    kind: TimerKind
    deadline_ns: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Cancel the armed timer `kind`."""

    kind: TimerKind


@dataclass(frozen=True, slots=True)
class AddVips:
    """Add the instance's VIPs, then eVIPs, virtual routes and rules (keepalived order)."""


@dataclass(frozen=True, slots=True)
class RemoveVips:
    """Remove the instance's virtual rules, routes, VIPs and eVIPs, and drop
    queued GARPs/NAs.

    `force`: at startup, remove any of them found on the host even though this
    run did not add them (stale after a crash; keepalived marks them "set" so
    that vrrp_init_state removes them)."""

    force: bool = False


@dataclass(frozen=True, slots=True)
class UpdateVips:
    """Reload of a MASTER holding its VIPs (keepalived-vrrp.md §3.17; keepalived
    vrrp.c clear_diff_vrrp / restore_vrrp_state): the configured VIPs, eVIPs,
    virtual routes and rules changed.  Remove the ones no longer configured,
    add the new ones; the ones that stay are not touched (never flapped)."""


@dataclass(frozen=True, slots=True)
class SendGarp:
    """Send `repeat` rounds of gratuitous ARP / unsolicited NA over every VIP and
    eVIP (RFC 5798 §6.4.2 / RFC 3768 §6.4.2 on becoming master; keepalived repeats)."""

    repeat: int


@dataclass(frozen=True, slots=True)
class SendSourceGarp:
    """Unicast instance leaving FAULT: one gratuitous ARP / NA for our own source
    address, so the master's neighbour cache can reach us at once (keepalived)."""


@dataclass(frozen=True, slots=True)
class Notify:
    """Run the notify scripts / write the FIFO line for `state` (priority as
    passed to the generic `notify` script)."""

    state: NotifyState
    priority: int


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The instance's state changed (for the fast path's slot table and status)."""

    old: State
    new: State


@dataclass(frozen=True, slots=True)
class PriorityUpdated:
    """The effective priority changed: the next advert carries `new`."""

    old: int
    new: int


@dataclass(frozen=True, slots=True)
class Log:
    """One log line, in keepalived's wording."""

    level: int
    text: str


@dataclass(frozen=True, slots=True)
class Count:
    """Increment the per-instance counter (keepalived's stats)."""

    counter: Counter


# ------------------------------------------------------------------ sync groups


@dataclass(frozen=True, slots=True)
class MasterWanted:
    """A sync-group member's Master_Down_Timer fired (RFC 5798 §6.4.2): it
    wants MASTER but waits for its group (keepalived vrrp_sync_can_goto_master).
    The group answers with SyncGoMaster or SyncHoldBackup; the engine does
    nothing with it."""


@dataclass(frozen=True, slots=True)
class FaultRecovered:
    """Every fault of a sync-group member has cleared; it stays in FAULT until
    its group releases it (SyncLeaveFault).  The engine does nothing with it."""


@dataclass(frozen=True, slots=True)
class GroupNotify:
    """The sync group `group` entered `state`: run the group's notify scripts
    and write its FIFO line (priority 0, keepalived send_group_notifies)."""

    group: str
    state: NotifyState


SYNC_REQUESTS = (MasterWanted, FaultRecovered)

Action = Union[SendAdvert, ArmTimer, CancelTimer, AddVips, RemoveVips, UpdateVips, SendGarp,
               SendSourceGarp,
               Notify, StateChanged, PriorityUpdated, Log, Count, MasterWanted, FaultRecovered,
               GroupNotify]
