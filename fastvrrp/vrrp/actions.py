"""Actions the state machine asks its adapter to perform, in order.

The machine never does I/O: it returns these from `handle()` and the adapter
(the engine, or the fast path's slow lane) executes them in list order.
Timers are absolute monotonic deadlines in ns; arming a kind that is already
armed replaces it (there is at most one timer of each kind).
"""

from __future__ import annotations

from typing import Union

from .kinds import Counter, NotifyState, State, TimerKind

_set = object.__setattr__


class _DataclassFields:
    """`__dataclass_fields__` made on first use (dataclasses.fields / replace /
    asdict / is_dataclass), then kept on the class: see Record."""

    def __get__(self, obj, cls):
        import dataclasses
        import inspect
        params = inspect.signature(cls.__init__).parameters
        spec = []
        for name in cls.__slots__:
            kind = cls.__annotations__.get(name, "object")
            default = params[name].default
            spec.append((name, kind) if default is inspect.Parameter.empty
                        else (name, kind, dataclasses.field(default=default)))
        shadow = dataclasses.make_dataclass(cls.__name__, spec, frozen=True)
        cls.__dataclass_fields__ = shadow.__dataclass_fields__
        return cls.__dataclass_fields__


class Record:
    """A frozen record with dataclass semantics, for the machine's events and
    actions: `Name(field=value, ...)` repr, equal when of the same class with
    equal fields, hashable, assignment raises FrozenInstanceError, and
    dataclasses.fields() / replace() work.

    Issue 6 (start-up): @dataclass(frozen=True, slots=True) compiles half a
    dozen methods per class (~0.4 ms each class, ~13 ms for the 32 events and
    actions of every start); a Record subclass only lists its `__slots__`
    (the fields, in order) and writes its `__init__`; these methods are shared."""

    __slots__ = ()
    __dataclass_fields__ = _DataclassFields()

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls.__match_args__ = cls.__slots__

    def _values(self) -> tuple:
        return tuple([getattr(self, name) for name in self.__slots__])

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__qualname__, ", ".join(
            ["%s=%r" % (name, getattr(self, name)) for name in self.__slots__]))

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name, value):
        from dataclasses import FrozenInstanceError
        raise FrozenInstanceError("cannot assign to field %r" % (name,))

    def __delattr__(self, name):
        from dataclasses import FrozenInstanceError
        raise FrozenInstanceError("cannot delete field %r" % (name,))

    def __getstate__(self) -> tuple:
        return self._values()

    def __setstate__(self, state) -> None:
        for name, value in zip(self.__slots__, state):
            _set(self, name, value)


class SendAdvert(Record):
    """Build and send one ADVERTISEMENT with this priority (RFC 5798 §5).

    0 means "I am stopping" (RFC 5798 §6.4.3 Shutdown).  The sender counts
    `advert_sent`.
    """

    __slots__ = ("priority",)
    priority: int

    def __init__(self, priority: int) -> None:
        _set(self, "priority", priority)


class ArmTimer(Record):
    """Arm (or re-arm, replacing) the timer `kind` to expire at `deadline_ns`.

    When it expires, feed back TimerFired(kind, deadline_ns)."""

    __slots__ = ("kind", "deadline_ns")
    kind: TimerKind
    deadline_ns: int

    def __init__(self, kind: TimerKind, deadline_ns: int) -> None:
        _set(self, "kind", kind)
        _set(self, "deadline_ns", deadline_ns)


class CancelTimer(Record):
    """Cancel the armed timer `kind`."""

    __slots__ = ("kind",)
    kind: TimerKind

    def __init__(self, kind: TimerKind) -> None:
        _set(self, "kind", kind)


class AddVips(Record):
    """Add the instance's VIPs, then eVIPs, virtual routes and rules (keepalived order)."""

    __slots__ = ()


class RemoveVips(Record):
    """Remove the instance's virtual rules, routes, VIPs and eVIPs, and drop
    queued GARPs/NAs.

    `force`: at startup, remove any of them found on the host even though this
    run did not add them (stale after a crash; keepalived marks them "set" so
    that vrrp_init_state removes them)."""

    __slots__ = ("force",)
    force: bool

    def __init__(self, force: bool = False) -> None:
        _set(self, "force", force)


class UpdateVips(Record):
    """Reload of a MASTER holding its VIPs (keepalived-vrrp.md §3.17; keepalived
    vrrp.c clear_diff_vrrp / restore_vrrp_state): the configured VIPs, eVIPs,
    virtual routes and rules changed.  Remove the ones no longer configured,
    add the new ones; the ones that stay are not touched (never flapped)."""

    __slots__ = ()


class SendGarp(Record):
    """Send `repeat` rounds of gratuitous ARP / unsolicited NA over every VIP and
    eVIP (RFC 5798 §6.4.2 / RFC 3768 §6.4.2 on becoming master; keepalived repeats)."""

    __slots__ = ("repeat",)
    repeat: int

    def __init__(self, repeat: int) -> None:
        _set(self, "repeat", repeat)


class SendSourceGarp(Record):
    """Unicast instance leaving FAULT: one gratuitous ARP / NA for our own source
    address, so the master's neighbour cache can reach us at once (keepalived)."""

    __slots__ = ()


class Notify(Record):
    """Run the notify scripts / write the FIFO line for `state` (priority as
    passed to the generic `notify` script)."""

    __slots__ = ("state", "priority")
    state: NotifyState
    priority: int

    def __init__(self, state: NotifyState, priority: int) -> None:
        _set(self, "state", state)
        _set(self, "priority", priority)


class StateChanged(Record):
    """The instance's state changed (for the fast path's slot table and status)."""

    __slots__ = ("old", "new")
    old: State
    new: State

    def __init__(self, old: State, new: State) -> None:
        _set(self, "old", old)
        _set(self, "new", new)


class PriorityUpdated(Record):
    """The effective priority changed: the next advert carries `new`."""

    __slots__ = ("old", "new")
    old: int
    new: int

    def __init__(self, old: int, new: int) -> None:
        _set(self, "old", old)
        _set(self, "new", new)


class Log(Record):
    """One log line, in keepalived's wording."""

    __slots__ = ("level", "text")
    level: int
    text: str

    def __init__(self, level: int, text: str) -> None:
        _set(self, "level", level)
        _set(self, "text", text)


class Count(Record):
    """Increment the per-instance counter (keepalived's stats)."""

    __slots__ = ("counter",)
    counter: Counter

    def __init__(self, counter: Counter) -> None:
        _set(self, "counter", counter)


# ------------------------------------------------------------------ sync groups


class MasterWanted(Record):
    """A sync-group member's Master_Down_Timer fired (RFC 5798 §6.4.2): it
    wants MASTER but waits for its group (keepalived vrrp_sync_can_goto_master).
    The group answers with SyncGoMaster or SyncHoldBackup; the engine does
    nothing with it."""

    __slots__ = ()


class FaultRecovered(Record):
    """Every fault of a sync-group member has cleared; it stays in FAULT until
    its group releases it (SyncLeaveFault).  The engine does nothing with it."""

    __slots__ = ()


class GroupNotify(Record):
    """The sync group `group` entered `state`: run the group's notify scripts
    and write its FIFO line (priority 0, keepalived send_group_notifies)."""

    __slots__ = ("group", "state")
    group: str
    state: NotifyState

    def __init__(self, group: str, state: NotifyState) -> None:
        _set(self, "group", group)
        _set(self, "state", state)


SYNC_REQUESTS = (MasterWanted, FaultRecovered)

Action = Union[SendAdvert, ArmTimer, CancelTimer, AddVips, RemoveVips, UpdateVips, SendGarp,
               SendSourceGarp,
               Notify, StateChanged, PriorityUpdated, Log, Count, MasterWanted, FaultRecovered,
               GroupNotify]
