"""VRRP sync groups (keepalived `vrrp_sync_group`), sans-IO.

    group = SyncGroup("G1", [params_vi1, params_vi2, params_vi3])
    out = group.start(now_ns)                      # [(member or None, action), ...]
    out = group.handle(now_ns, "VI_2", FaultSet("track_interface eth1"))
    out = group.stop(now_ns)

The group owns its members' state machines (`group.machine(name)`) and the
engine drives every member through it: each output is a `Routed(member,
action)`; `member` None marks the group's own actions (a `Log` line,
`GroupNotify`).  Like the machine, the group does no I/O and reads no clock.

keepalived 2.2.7 semantics (vrrp_sync.c, the TSM in vrrp_scheduler.c,
try_up_instance, down_instance; keepalived-vrrp.md §3.15):

* to MASTER: a member whose Master_Down_Timer expires (RFC 5798 §6.4.2) asks
  (MasterWanted).  It may go only if the group is MASTER or every other
  member wants MASTER too (vrrp_sync_can_goto_master); otherwise it waits a
  full Master_Down_Interval again.  When it goes, every other member follows
  at once (vrrp_sync_master), then the group notifies MASTER;
* to BACKUP: a member that leaves MASTER for BACKUP (a higher priority was
  heard, RFC 5798 §6.4.3) takes every other member to BACKUP, masters without
  a priority-0 advert (vrrp_sync_backup); the group notifies BACKUP;
* to FAULT: a member's first fault takes every other member to FAULT, masters
  with one priority-0 advert (vrrp_sync_fault); the group notifies FAULT and
  stays FAULT until no member has a fault left: a member whose faults clear
  waits (FaultRecovered) and the last one to recover brings the group up
  (try_up_instance), as BACKUP, or as MASTER for an address owner when the
  group allows it;
* at start: a member with a fault makes the whole group start in FAULT
  (every member notifies FAULT, then the group); a member whose tracker has
  not reported yet holds every member silently in FAULT (init); otherwise
  the group notifies BACKUP first and the members start as usual.  `state
  MASTER` is kept only when every member is an address owner wanting MASTER,
  otherwise every member starts as BACKUP (vrrp_complete_init; `downgraded`
  lists them, the config check warns) and waits the full Master_Down_Interval;
* stop: every member stops (STOP notifies), then the group notifies STOP.

Instance notifies still come from the members' own Notify actions; the
notifier (fastvrrp.daemon.notify) drops a member's repeat notification when
its group already notified that state, so GroupNotify must reach it in the
order given here (vrrp_notify.c:275).

Deliberate differences from 2.2.7:

* a group of address owners that all start as MASTER: 2.2.7 marks the group
  MASTER before any member is, so each member becomes master on its own and
  the group's notify_master never runs.  Here the first member's 1 µs start
  brings the others along (vrrp_sync_master) and the group notifies MASTER;
* a master forced to FAULT counts its priority-0 advert in `pri_zero_sent`
  (2.2.7 sends it uncounted);
* SyncForceBackup and SyncGoMaster leave a member that still has a fault of
  its own in FAULT (2.2.7's fault counters make that case unreachable; here
  it is refused explicitly).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Callable, NamedTuple, Optional, Sequence

from .actions import FaultRecovered, GroupNotify, Log, MasterWanted, SYNC_REQUESTS, StateChanged
from .events import (SYNC_EVENTS, Shutdown, Startup, SyncForceBackup, SyncForceFault, SyncGoMaster,
                     SyncHoldBackup, SyncLeaveFault, SyncStartup)
from .kinds import NOTIFY_FOR_STATE, State
from .machine import VrrpMachine
from .params import InstanceParams

INFO = logging.INFO


class Routed(NamedTuple):
    """One output of the group: `action` for member `member`, or for the
    group itself when `member` is None."""

    member: Optional[str]
    action: object


class SyncGroupError(ValueError):
    """A bad group definition or a call the group cannot take."""


def start_downgrades(members: Sequence[InstanceParams]) -> tuple:
    """keepalived vrrp_complete_init: the members whose `state MASTER` becomes
    BACKUP because some member is not an address owner wanting MASTER."""
    have_backup = any(p.wantstate == State.BACKUP or not p.owner for p in members)
    have_master = any(p.wantstate == State.MASTER for p in members)
    if not (have_master and have_backup):
        return ()
    return tuple(p.name for p in members if p.wantstate == State.MASTER)


class SyncGroup:
    """One vrrp_sync_group and its members' machines.  See the module docstring.

    `run(member, now_ns, event) -> actions`, if given, replaces
    `machine.handle` for the events the group sends to members itself (an
    engine whose machines sit behind the fast path runs them there); what it
    returns is routed.  Events the engine ran on its own go to `react()`.
    """

    def __init__(self, name: str, members: Sequence[InstanceParams], *,
                 run: Optional[Callable[[str, int, object], list]] = None) -> None:
        if not isinstance(name, str) or not name:
            raise SyncGroupError("sync group name must be a non-empty string, not %r" % (name,))
        who = "sync group %s" % name
        if isinstance(members, (str, bytes)) or not isinstance(members, Sequence):
            raise SyncGroupError("%s: members must be a sequence of InstanceParams, not %r"
                                 % (who, type(members).__name__))
        if not members:
            raise SyncGroupError("%s: no member instances" % who)
        seen = set()
        for p in members:
            if not isinstance(p, InstanceParams):
                raise SyncGroupError("%s: a member must be an InstanceParams, not %r"
                                     % (who, type(p).__name__))
            if p.name in seen:
                raise SyncGroupError("%s: instance %s is listed twice" % (who, p.name))
            if p.sync_group not in (None, name):
                raise SyncGroupError("%s: instance %s belongs to sync group %s"
                                     % (who, p.name, p.sync_group))
            seen.add(p.name)
        if run is not None and not callable(run):
            raise SyncGroupError("%s: run must be callable, not %r" % (who, run))
        self.name = name
        self._log_prefix = "VRRP_Group(%s) " % name
        self.downgraded = start_downgrades(members)
        self._machines: dict[str, VrrpMachine] = {}
        for p in members:
            fixed = replace(p, sync_group=name)
            if p.name in self.downgraded:
                fixed = replace(fixed, initial_state=State.BACKUP)
            self._machines[p.name] = VrrpMachine(fixed)
        self._order = tuple(self._machines)
        self._run_hook = run
        self._state = State.INIT
        self._running = False
        self._faulty: set[str] = set()      # keepalived num_member_fault, by name
        self._acting = False

    # ------------------------------------------------------------ queries

    @property
    def state(self) -> State:
        """The group's state (INIT until it settles, and while a member's
        tracker has not reported; STOP after stop())."""
        return self._state

    @property
    def acting(self) -> bool:
        """True while the group is sending its own events to members (start,
        stop, a sync): actions a member produces meanwhile are the group's
        doing and belong to what `run` returns, not to a new `react()`."""
        return self._acting

    @property
    def members(self) -> tuple:
        """Member names, in `group { }` order."""
        return self._order

    def machine(self, member: str) -> VrrpMachine:
        try:
            return self._machines[member]
        except (KeyError, TypeError):
            raise SyncGroupError("sync group %s has no member %r" % (self.name, member)) from None

    def can_goto_master(self, member: str) -> bool:
        """keepalived vrrp_sync_can_goto_master: the group is MASTER, or every
        other member wants MASTER."""
        self.machine(member)
        if self._state == State.MASTER:
            return True
        return all(m.wantstate == State.MASTER for n, m in self._machines.items() if n != member)

    # ------------------------------------------------------------ driving

    def start(self, now_ns: int, startup_delay_ns: int = 0) -> list:
        """RFC 5798 §6.4.1 Startup of every member, as a group (keepalived
        vrrp_complete_init + vrrp_init_state)."""
        for name, m in self._machines.items():
            if m.state not in (State.INIT, State.STOP):
                raise SyncGroupError("sync group %s: member %s is already running (%s)"
                                     % (self.name, name, m.state.name))
        faulty = {n for n, m in self._machines.items() if m.faulted}
        if faulty:
            state = State.FAULT
        elif any(m.faults for m in self._machines.values()):
            state = State.INIT                 # a tracker has not reported: all wait
        elif all(m.params.owner and m.params.wantstate == State.MASTER for m in self._machines.values()):
            state = State.MASTER               # settles with the first member's 1 µs start
        else:
            state = State.BACKUP
        event = SyncStartup(state, startup_delay_ns)     # validates the delay
        out: list = []
        self._faulty = faulty
        self._state = State.INIT if state == State.MASTER else state
        if state == State.FAULT:
            first = next(n for n in self._order if n in faulty)
            self._glog(out, "VRRP_Group(%s): Syncing %s to FAULT state" % (self.name, first))
        elif state == State.BACKUP:
            self._group_notify(out)            # keepalived: the group's BACKUP notify comes first
        self._running = True
        self._acting = True
        try:
            for name in self._order:
                self._send(now_ns, name, event, out)
        finally:
            self._acting = False
        if self._state == State.FAULT:
            self._group_notify(out)
        return out

    def handle(self, now_ns: int, member: str, event) -> list:
        """Run `event` on `member`'s machine and what the group does about it."""
        machine = self.machine(member)
        if isinstance(event, (Startup, Shutdown) + SYNC_EVENTS):
            raise SyncGroupError("sync group %s: %s is the group's to send (use start()/stop())"
                                 % (self.name, type(event).__name__))
        actions = machine.handle(now_ns, event)
        out = [Routed(member, a) for a in actions if not isinstance(a, SYNC_REQUESTS)]
        out += self.react(now_ns, member, actions)
        return out

    def react(self, now_ns: int, member: str, actions) -> list:
        """What the group does after `member`'s machine produced `actions` for
        an event the caller ran itself (the member's own actions are not
        repeated).  Calls made while the group is acting are ignored."""
        self.machine(member)
        if not isinstance(actions, (list, tuple)):
            raise SyncGroupError("actions must be a list, not %r" % (type(actions).__name__,))
        out: list = []
        if self._acting or not self._running:
            return out
        self._acting = True
        try:
            self._react(now_ns, member, actions, out)
        finally:
            self._acting = False
        return out

    def stop(self, now_ns: int) -> list:
        """RFC 5798 §6.4.3 Shutdown of every member, then the group's STOP notify
        (keepalived notify_shutdown)."""
        out: list = []
        self._acting = True
        try:
            for name in self._order:
                self._send(now_ns, name, Shutdown(), out)
        finally:
            self._acting = False
        self._running = False
        self._faulty.clear()
        if self._state != State.STOP:
            self._state = State.STOP
            self._group_notify(out)
        return out

    # ------------------------------------------------------------ internals

    def _react(self, now: int, member: str, actions, out: list) -> None:
        machine = self._machines[member]
        was_faulty = member in self._faulty
        if machine.faulted:
            self._faulty.add(member)
        else:
            self._faulty.discard(member)
        for action in actions:
            kind = type(action)
            if kind is MasterWanted:
                self._master_wanted(now, member, out)
            elif kind is FaultRecovered:
                self._recovered(now, member, out)
            elif kind is StateChanged and action.old == State.MASTER and action.new == State.BACKUP:
                self._sync_backup(now, member, out)       # the TSM's MASTER -> BACKUP
        if machine.faulted and not was_faulty and self._faulty == {member}:
            self._sync_fault(now, member, out)            # down_instance: num_member_fault 0 -> 1

    def _master_wanted(self, now: int, member: str, out: list) -> None:
        if self._machines[member].state != State.BACKUP:
            return
        if not self.can_goto_master(member):
            self._send(now, member, SyncHoldBackup(), out)
            return
        self._send(now, member, SyncGoMaster(), out)
        if self._machines[member].state == State.MASTER:
            self._sync_master(now, member, out)           # the TSM's BACKUP -> MASTER

    def _recovered(self, now: int, member: str, out: list) -> None:
        """keepalived try_up_instance for a member whose faults all cleared."""
        machine = self._machines[member]
        if machine.state != State.FAULT or any(m.faults for m in self._machines.values()):
            return                                        # others still faulty: wait
        self._send(now, member, SyncLeaveFault(self.can_goto_master(member)), out)
        if machine.state == State.MASTER:
            self._sync_master(now, member, out)
        elif machine.state == State.BACKUP:
            self._sync_backup(now, member, out)

    def _sync_master(self, now: int, member: str, out: list) -> None:
        """keepalived vrrp_sync_master."""
        self._sync(now, member, State.MASTER, SyncGoMaster, out)

    def _sync_backup(self, now: int, member: str, out: list) -> None:
        """keepalived vrrp_sync_backup."""
        self._sync(now, member, State.BACKUP, SyncForceBackup, out)

    def _sync_fault(self, now: int, member: str, out: list) -> None:
        """keepalived vrrp_sync_fault."""
        self._sync(now, member, State.FAULT, SyncForceFault, out)

    def _sync(self, now: int, member: str, state: State, event: type, out: list) -> None:
        """`member` went to `state`: send `event` to every other member not in
        it yet, then the group is in `state` and notifies it."""
        if self._state == state:
            return
        self._glog(out, self._log_prefix + "Syncing instances to %s state" % state.name)
        for name in self._order:
            if name != member and self._machines[name].state != state:
                self._send(now, name, event(), out)
        self._state = state
        self._group_notify(out)

    def _send(self, now: int, member: str, event, out: list) -> None:
        if self._run_hook is None:
            actions = self._machines[member].handle(now, event)
        else:
            actions = self._run_hook(member, now, event)
        out.extend(Routed(member, a) for a in actions or () if not isinstance(a, SYNC_REQUESTS))

    def _glog(self, out: list, text: str) -> None:
        out.append(Routed(None, Log(INFO, text)))

    def _group_notify(self, out: list) -> None:
        out.append(Routed(None, GroupNotify(self.name, NOTIFY_FOR_STATE[self._state])))


__all__ = ["Routed", "SyncGroup", "SyncGroupError", "start_downgrades"]
