"""The VRRP state machine of one instance, sans-IO.

    machine = VrrpMachine(params)
    actions = machine.handle(now_ns, event)

`handle` is pure in the sense that matters: no I/O, no clock, no randomness, no
logging.  Time comes in as `now_ns` (monotonic), everything the instance wants
done comes out as an ordered list of actions (actions.py): adverts to send,
timers to arm at absolute deadlines, VIPs to add or remove, GARPs, notifies,
log lines in keepalived's wording, counters.  The adapter executes them and
feeds timer expiries back as TimerFired events.

RFC 5798 §6 (RFC 9568 §6; RFC 3768 §6 for VRRPv2), with keepalived 2.2.7's
semantics where it differs — that is what the peers run:
  * startup: an owner (255) whose `state` is MASTER becomes master after 1 µs
    with no BACKUP notify; everyone else first force-removes VIPs left over by
    an earlier run, then enters BACKUP "(init)" and waits the full
    Master_Down_Interval (also a non-owner `state MASTER`, as observed on the
    installed 2.2.7), or FAULT if a fault is already known;
  * a master hearing a lower priority re-advertises at once and re-sends GARPs
    (`lower_prio_no_advert`, `garp_lower_prio_*`), and re-arms its Adver_Timer
    after every advert it processes;
  * leaving MASTER for FAULT sends two priority-0 adverts, Shutdown one;
  * two owners: the one that hears the other drops to 254 for good and yields.
Sync-group members (`params.sync_group` set; keepalived-vrrp.md §3.15) are
driven by their group (sync.py) and differ in three places, as keepalived's
vrrp_sync.c hooks do: a Master_Down_Timer expiry only asks (MasterWanted) and
the group answers SyncGoMaster or SyncHoldBackup; a member whose faults have
all cleared only reports it (FaultRecovered) and stays FAULT until the group
releases it (SyncLeaveFault); and the group's Sync* events move members
between states.  A machine without a group is unchanged by all of this.
Deliberate differences from 2.2.7 (issue 4):
  * an advert whose address list differs from ours is logged, counted and
    accepted (keepalived ≥ 2.3.3), not dropped;
  * a VRRPv2 advert-interval mismatch is dropped, logged and counted
    (`advert_interval_err`; 2.2.7 forgets the counter);
  * packets the machine drops (that mismatch, AdvertRejected) do not re-arm a
    master's Adver_Timer: in 2.2.7 a peer sending invalid packets faster than
    our interval silences our adverts;
  * a priority change rescales a pending Master_Down_Timer by the change of the
    quantity it was armed with (Master_Down_Interval, or Skew_Time after a
    priority-0 advert), never by their mixture;
  * vrrp_startup_delay behaves as in keepalived ≥ 2.4 (adverts discarded during
    the delay, timers run from its end, a master sends nothing until it ends),
    except that a master held silent announces itself when the delay ends,
    not one advert interval later.
"""

from __future__ import annotations

import enum
import logging
from types import MappingProxyType
from typing import Optional

from .actions import (AddVips, ArmTimer, CancelTimer, Count, FaultRecovered, Log, MasterWanted,
                      Notify, PriorityUpdated, RemoveVips, SendAdvert, SendGarp, SendSourceGarp,
                      StateChanged, UpdateVips)
from .events import (SYNC_EVENTS, AdvertReceived, AdvertRejected, FaultCleared, FaultSet,
                     PriorityChanged, Reconfigure, Shutdown, SourceAddressChanged, Startup,
                     SyncForceBackup, SyncForceFault, SyncGoMaster, SyncHoldBackup, SyncLeaveFault,
                     SyncStartup, TimerFired)
from .kinds import Counter, NotifyState, State, TimerKind
from .params import InstanceParams
from .priority import PRIORITY_OWNER, PRIORITY_STOP, effective_priority
from .rules import (BackupVerdict, MasterVerdict, address_list_problem, backup_verdict,
                    compare_addresses, higher_prio_sends_advert, master_verdict,
                    preempt_delay_holds, v2_interval_matches)
from .timers import NS_PER_US, US_PER_CS, master_down_interval_us, skew_time_us

INFO = logging.INFO
_GARP_TIMERS = (TimerKind.GARP_DELAYED, TimerKind.GARP_REFRESH, TimerKind.GARP_LOWER_PRIO)


class _DownBasis(enum.Enum):
    """What the pending Master_Down_Timer was armed with (for rescaling)."""

    INTERVAL = 1  # Master_Down_Interval (RFC 5798 §6.4.2)
    SKEW = 2  # Skew_Time, after a priority-0 advert (RFC 5798 §6.4.2)
    FIXED = 3  # the owner's 1 µs start (keepalived)


class VrrpMachine:
    """One VRRP instance's state machine.  See the module docstring."""

    __slots__ = ("params", "_prefix", "_state", "_wantstate", "_base_priority", "_weight_total",
                 "_effective", "_adver_int_us", "_mai_us", "_down_basis", "_ms_down_us", "_timers",
                 "_vips_set", "_master_addr", "_master_priority", "_preempt_until", "_delay_until",
                 "_faults", "_primary")

    def __init__(self, params: InstanceParams) -> None:
        if not isinstance(params, InstanceParams):
            raise TypeError("VrrpMachine needs an InstanceParams, not %r" % (type(params).__name__,))
        self.params = params
        self._prefix = "(%s) " % params.name
        self._state = State.INIT
        self._wantstate = params.wantstate
        self._base_priority = params.priority
        self._weight_total = 0
        self._effective = params.priority
        self._adver_int_us = params.advert_int_us
        self._mai_us = self._adver_int_us  # RFC 5798 §6.4.1 Master_Adver_Interval
        self._reset_down_basis()
        self._timers: dict[TimerKind, int] = {}
        self._vips_set = False
        self._master_addr = None
        self._master_priority = 0
        self._preempt_until: Optional[int] = None
        self._delay_until: Optional[int] = None
        self._faults: dict[str, bool] = {}  # reason -> still pending (tracker not reported yet)
        self._primary = params.primary_address

    # ------------------------------------------------------------------ API

    def handle(self, now_ns: int, event) -> list:
        """Process one event at monotonic time `now_ns`; return the actions, in order."""
        if not isinstance(now_ns, int) or isinstance(now_ns, bool):
            raise TypeError("now_ns must be an integer (monotonic ns), not %r" % (now_ns,))
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise TypeError("not a VRRP machine event: %r" % (event,))
        if self.params.sync_group is None and type(event) in SYNC_EVENTS:
            raise ValueError("%s is not a sync group member: %r is for sync group members only"
                             % (self._prefix.strip(), event))
        out: list = []
        handler(self, now_ns, event, out)
        return out

    @property
    def state(self) -> State:
        return self._state

    @property
    def wantstate(self) -> State:
        return self._wantstate

    @property
    def base_priority(self) -> int:
        return self._base_priority

    @property
    def effective_priority(self) -> int:
        return self._effective

    @property
    def master_adver_interval_ns(self) -> int:
        """RFC 5798 §6.1 Master_Adver_Interval (v3: learned from the master)."""
        return self._mai_us * NS_PER_US

    @property
    def skew_time_ns(self) -> int:
        """RFC 5798 §6.1 Skew_Time for the current priority and Master_Adver_Interval."""
        return self._skew_us() * NS_PER_US

    @property
    def master_down_interval_ns(self) -> int:
        """RFC 5798 §6.1 Master_Down_Interval for the current priority and interval."""
        return self._master_down_us() * NS_PER_US

    @property
    def master_addr(self):
        """Source of the last advert accepted (or discarded as lower) in BACKUP."""
        return self._master_addr

    @property
    def master_priority(self) -> int:
        """Priority of the last master advert accepted."""
        return self._master_priority

    @property
    def vips_set(self) -> bool:
        return self._vips_set

    @property
    def faults(self) -> frozenset:
        """Active fault reasons, pending trackers included."""
        return frozenset(self._faults)

    @property
    def faulted(self) -> bool:
        """A real fault is active (not only trackers that have not reported):
        keepalived's num_script_if_fault > 0."""
        return not all(self._faults.values())

    @property
    def timers(self):
        """Armed timers: a read-only view {TimerKind: deadline_ns}."""
        return MappingProxyType(self._timers)

    @property
    def preempt_until_ns(self) -> Optional[int]:
        return self._preempt_until

    @property
    def startup_delay_until_ns(self) -> Optional[int]:
        return self._delay_until

    # ------------------------------------------------------------ arithmetic

    def _skew_us(self) -> int:
        return skew_time_us(self.params.version, self._effective, self._mai_us)

    def _master_down_us(self) -> int:
        return master_down_interval_us(self.params.version, self._effective, self._mai_us,
                                       self.params.down_timer_adverts)

    def _basis_us(self) -> int:
        if self._down_basis is _DownBasis.INTERVAL:
            return self._master_down_us()
        if self._down_basis is _DownBasis.SKEW:
            return self._skew_us()
        return self._ms_down_us

    def _in_delay(self, now: int) -> bool:
        """Inside vrrp_startup_delay.  Judged by the clock, not by the order in
        which the adapter delivers timers that expire in the same tick."""
        return self._delay_until is not None and now < self._delay_until

    def _backup_base(self, now: int) -> int:
        """Backup timers run from the end of a delayed start (keepalived)."""
        return self._delay_until if self._in_delay(now) else now

    # ----------------------------------------------------------- primitives

    def _log(self, out: list, text: str) -> None:
        out.append(Log(INFO, self._prefix + text))

    def _detail(self, out: list, text: str) -> None:
        """keepalived's -D (log_detail) lines."""
        if self.params.log_detail:
            out.append(Log(INFO, self._prefix + text))

    def _arm(self, out: list, kind: TimerKind, deadline: int) -> None:
        self._timers[kind] = deadline
        out.append(ArmTimer(kind, deadline))

    def _cancel(self, out: list, kind: TimerKind) -> None:
        if self._timers.pop(kind, None) is not None:
            out.append(CancelTimer(kind))

    def _set_state(self, out: list, new: State) -> None:
        old = self._state
        self._state = new
        out.append(StateChanged(old, new))

    def _notify(self, out: list, state: NotifyState) -> None:
        out.append(Notify(state, self._effective))

    def _arm_adver(self, out: list, base: int) -> None:
        """RFC 5798 §6.4.3: Adver_Timer = Advertisement_Interval from `base`."""
        self._arm(out, TimerKind.ADVER, base + self._adver_int_us * NS_PER_US)

    def _arm_master_down(self, out: list, now: int, basis: _DownBasis, duration_us: int) -> None:
        self._down_basis = basis
        self._ms_down_us = duration_us
        self._arm(out, TimerKind.MASTER_DOWN, self._backup_base(now) + duration_us * NS_PER_US)

    def _arm_master_down_interval(self, out: list, now: int) -> None:
        """RFC 5798 §6.4.2: Master_Down_Timer = Master_Down_Interval."""
        self._arm_master_down(out, now, _DownBasis.INTERVAL, self._master_down_us())

    def _reset_down_basis(self) -> None:
        """No Master_Down_Timer pending: the next one is armed from Master_Down_Interval."""
        self._down_basis = _DownBasis.INTERVAL
        self._ms_down_us = self._master_down_us()

    def _learn_master_adver_int(self, out: list, adver_int_cs: int) -> None:
        """RFC 5798 §6.4.2/§6.4.3: Master_Adver_Interval = the advert's Max Adver Int (v3 only)."""
        if self.params.version != 3:
            return
        new = adver_int_cs * US_PER_CS
        if new != self._mai_us:
            self._detail(out, "advertisement interval updated from %ums to %ums by master"
                         % (self._mai_us // 1000, new // 1000))
            self._mai_us = new

    def _rearm_adver_after_rx(self, out: list, now: int) -> None:
        """keepalived: a master re-arms its Adver_Timer after each advert it
        processes, unless lower_prio_no_advert (vrrp_scheduler.c)."""
        if not self.params.lower_prio_no_advert:
            self._arm_adver(out, now)

    def _remove_vips(self, out: list) -> None:
        """keepalived vrrp_restore_interface, without the priority-0 advert."""
        for kind in _GARP_TIMERS:
            self._cancel(out, kind)
        if self._vips_set:
            self._detail(out, "removing VIPs.")
            out.append(RemoveVips())
            self._vips_set = False

    # ------------------------------------------------------- transitions

    def _goto_master(self, now: int, out: list) -> None:
        """RFC 5798 §6.4.2 Master_Down_Timer fired (or an owner comes up): become master."""
        self._wantstate = State.MASTER
        old = self._state
        self._cancel(out, TimerKind.MASTER_DOWN)
        self._state = State.MASTER
        if self._in_delay(now):
            # keepalived ≥ 2.4: MASTER during a delayed start, silent until it ends.
            out.append(StateChanged(old, State.MASTER))
            self._arm_adver(out, self._delay_until)
            return
        self._enter_master(now, out, old)

    def _enter_master(self, now: int, out: list, old: Optional[State]) -> None:
        """RFC 5798 §6.4.2 "transition to Master", in keepalived's order: the
        advert first (the old master drops its VIPs before our GARPs), VIPs,
        GARPs, timers, notifies (keepalived-vrrp.md §3.13)."""
        p = self.params
        out.append(SendAdvert(self._effective))
        self._log(out, "Entering MASTER STATE")
        if old is not None:
            out.append(StateChanged(old, State.MASTER))
        if p.version == 3 and p.log_detail and self._mai_us != self._adver_int_us:
            # keepalived resets a learned interval on becoming master only under -D.
            self._log(out, "changing advert interval from %ums to locally configured %ums"
                      % (self._mai_us // 1000, self._adver_int_us // 1000))
            self._mai_us = self._adver_int_us
        self._detail(out, "setting VIPs.")
        out.append(AddVips())
        self._vips_set = True
        if p.garp_master_repeat:
            out.append(SendGarp(p.garp_master_repeat))  # RFC 5798 §6.4.2 gratuitous ARP / NA
        self._arm_adver(out, now)
        if p.garp_master_delay_ns:
            self._arm(out, TimerKind.GARP_DELAYED, now + p.garp_master_delay_ns)
        if p.garp_master_refresh_ns:
            self._arm(out, TimerKind.GARP_REFRESH, now + p.garp_master_refresh_ns)
        self._notify(out, NotifyState.MASTER)
        out.append(Count(Counter.BECOME_MASTER))

    def _leave_master_for_backup(self, now: int, out: list) -> None:
        """RFC 5798 §6.4.3: a better master exists; no priority-0 advert."""
        self._log(out, "Entering BACKUP STATE")
        self._set_state(out, State.BACKUP)
        self._preempt_until = None
        self._remove_vips(out)
        self._notify(out, NotifyState.BACKUP)
        self._cancel(out, TimerKind.ADVER)
        self._arm_master_down_interval(out, now)
        out.append(Count(Counter.RELEASE_MASTER))

    def _send_priority_zero(self, out: list) -> None:
        """RFC 5798 §6.4.3: send an ADVERTISEMENT with Priority 0 (keepalived
        vrrp_restore_interface: counted in pri_zero_sent and logged under -D)."""
        out.append(SendAdvert(PRIORITY_STOP))
        out.append(Count(Counter.PRI_ZERO_SENT))
        self._detail(out, "sent 0 priority")

    def _leave_master_for_fault(self, out: list, by_group: bool = False) -> None:
        """keepalived down_instance from MASTER: two priority-0 adverts (one from
        vrrp_state_leave_master, one from vrrp_restore_interface), VIPs removed.
        `by_group` (vrrp_sync_fault): only vrrp_state_leave_master's advert,
        counted (2.2.7 does not count it in pri_zero_sent; fastvrrp does)."""
        self._log(out, "Entering FAULT STATE")
        self._set_state(out, State.FAULT)
        out.append(SendAdvert(PRIORITY_STOP))
        if by_group:
            out.append(Count(Counter.PRI_ZERO_SENT))
        else:
            self._send_priority_zero(out)
        self._remove_vips(out)
        self._notify(out, NotifyState.FAULT)
        self._cancel(out, TimerKind.ADVER)
        self._reset_down_basis()
        out.append(Count(Counter.RELEASE_MASTER))

    def _enter_fault(self, out: list) -> None:
        """keepalived vrrp_state_leave_fault towards FAULT (from BACKUP, or a
        silent initial FAULT whose pending tracker turned out failed)."""
        if self._state != State.FAULT:
            self._log(out, "Entering FAULT STATE")
            self._set_state(out, State.FAULT)
        self._notify(out, NotifyState.FAULT)
        self._cancel(out, TimerKind.MASTER_DOWN)
        self._mai_us = self._adver_int_us
        self._reset_down_basis()

    def _leave_fault_for_backup(self, now: int, out: list, source_garp: bool) -> None:
        """keepalived vrrp_state_leave_fault towards BACKUP; `source_garp`:
        try_up_instance's gratuitous ARP / NA for a unicast instance's source."""
        self._mai_us = self._adver_int_us  # RFC 5798 §6.4.1: Master_Adver_Interval = local
        self._wantstate = State.BACKUP
        self._log(out, "Entering BACKUP STATE")
        self._set_state(out, State.BACKUP)
        self._notify(out, NotifyState.BACKUP)
        self._preempt_until = None
        if source_garp:
            self._send_source_garp(now, out)
        self._arm_master_down_interval(out, now)

    def _send_source_garp(self, now: int, out: list) -> None:
        if self.params.unicast and not self._in_delay(now):
            out.append(SendSourceGarp())

    def _leave_fault(self, now: int, out: list, master_ok: bool = True) -> None:
        """keepalived try_up_instance: all faults cleared.  `master_ok` False: a
        sync group refuses MASTER, so an owner wanting it enters BACKUP and
        keeps wanting MASTER."""
        self._mai_us = self._adver_int_us  # RFC 5798 §6.4.1: Master_Adver_Interval = local
        owner_master = self._wantstate == State.MASTER and self._base_priority == PRIORITY_OWNER
        if owner_master and master_ok:
            # An owner that has never yielded comes up as master at once.
            self._goto_master(now, out)
            self._reset_down_basis()
            self._send_source_garp(now, out)
            return
        self._leave_fault_for_backup(now, out, source_garp=True)
        if owner_master:
            self._wantstate = State.MASTER

    # ------------------------------------------------------------ handlers

    def _on_startup(self, now: int, event: Startup, out: list) -> None:
        self._start(now, event.startup_delay_ns, None, out)

    def _start(self, now: int, startup_delay_ns: int, group_state: Optional[State], out: list) -> None:
        """RFC 5798 §6.4.1 Initialize, as keepalived's vrrp_init_state.
        `group_state`: a sync group's initial state (SyncStartup), else None."""
        if self._state not in (State.INIT, State.STOP):
            return
        self._wantstate = self.params.wantstate
        self._mai_us = self._adver_int_us
        self._master_addr = None
        self._master_priority = 0
        self._preempt_until = None
        self._delay_until = None
        if startup_delay_ns:
            self._delay_until = now + startup_delay_ns
            self._arm(out, TimerKind.STARTUP_DELAY, self._delay_until)
        owner_start = self._wantstate == State.MASTER and self._base_priority == PRIORITY_OWNER
        # keepalived: a sync group in FAULT holds every member in FAULT; one
        # whose member's tracker has not reported holds them in FAULT (init).
        group_fault = group_state == State.FAULT
        held = bool(self._faults) or group_state in (State.FAULT, State.INIT)
        if held or not owner_start:
            # keepalived vrrp_init_state: restore the interface first, which
            # removes VIPs left on the host by an earlier run.
            self._detail(out, "removing VIPs.")
            out.append(RemoveVips(force=True))
        if held:
            if group_fault or self.faulted:
                # keepalived vrrp_complete_init: a fault known at start (the
                # tracker logs its own reason); vrrp_init_state then wants FAULT.
                self._log(out, "entering FAULT state")
                self._set_state(out, State.FAULT)
                self._notify(out, NotifyState.FAULT)
                self._wantstate = State.FAULT
            else:
                # Only trackers that have not reported: FAULT (init), not
                # notified; the wantstate is kept.
                self._log(out, "Entering FAULT STATE (init)")
                self._set_state(out, State.FAULT)
            self._reset_down_basis()
            return
        if owner_start:
            # keepalived: "the simplest way to become master is to time out from
            # the backup state very quickly (1 µs)"; no BACKUP log or notify.
            self._set_state(out, State.BACKUP)
            self._arm_master_down(out, now, _DownBasis.FIXED, 1)
            return
        self._log(out, "Entering BACKUP STATE (init)")
        self._set_state(out, State.BACKUP)
        self._notify(out, NotifyState.BACKUP)
        self._arm_master_down_interval(out, now)

    def _on_shutdown(self, now: int, event: Shutdown, out: list) -> None:
        """RFC 5798 §6.4.3 Shutdown: a master sends priority 0, then drops its VIPs."""
        if self._state == State.STOP:
            return
        if self._state == State.MASTER:
            self._send_priority_zero(out)
        self._remove_vips(out)
        for kind in TimerKind:
            self._cancel(out, kind)
        self._set_state(out, State.STOP)
        self._notify(out, NotifyState.STOP)
        self._preempt_until = None
        self._delay_until = None

    def _on_advert(self, now: int, event: AdvertReceived, out: list) -> None:
        if self._state not in (State.BACKUP, State.MASTER):
            return  # keepalived ignores packets in INIT and FAULT
        if self._in_delay(now):
            return  # vrrp_startup_delay: everything received is discarded
        p = self.params
        if p.version == 2 and not v2_interval_matches(event.adver_int, p.advert_int_cs):
            # RFC 3768 §7.1: MUST discard.  Counted (2.2.7 forgets to).
            self._log(out, "advertisement interval mismatch mine=%u sec rcv'd=%d sec"
                      % (p.advert_int_cs // 100, event.adver_int))
            out.append(Count(Counter.ADVERT_INTERVAL_ERR))
            return
        if p.version == 3 and event.adver_int == 0:
            # RFC 5798 erratum 8301: a zero Max Adver Int would make Master_Down 0.
            self._log(out, "received advert from %s with advertisement interval 0 - discarding"
                      % (event.src,))
            out.append(Count(Counter.ADVERT_INTERVAL_ERR))
            return
        out.append(Count(Counter.ADVERT_RCVD))
        self._check_addresses(event, out)
        if event.priority == PRIORITY_STOP:
            out.append(Count(Counter.PRI_ZERO_RCVD))
        if self._state == State.BACKUP:
            self._backup_rx(now, event, out)
        else:
            self._master_rx(now, event, out)

    def _check_addresses(self, event: AdvertReceived, out: list) -> None:
        """RFC 5798 §7.1 (SHOULD log): keepalived ≥ 2.3.3 logs, counts and accepts."""
        p = self.params
        check_list = (self._state == State.MASTER or not p.skip_check_adv_addr
                      or self._master_addr != event.src)
        problem = address_list_problem(p.vips, event.addresses, check_list)
        if problem is None:
            return
        if problem[0] == "count":
            self._log(out, "expected %u VIPs but received %u" % (len(p.vips), len(event.addresses)))
        else:
            self._log(out, "ip address associated with VRID %d not present in advert from %s: %s"
                      % (p.vrid, event.src, problem[1]))
        out.append(Count(Counter.ADDR_LIST_ERR))

    def _backup_rx(self, now: int, event: AdvertReceived, out: list) -> None:
        """RFC 5798 §6.4.2 / RFC 3768 §6.4.2 Backup: an ADVERTISEMENT is received."""
        p = self.params
        holding = preempt_delay_holds(p.preempt_delay_ns, self._preempt_until, now)
        verdict = backup_verdict(event.priority, self._effective, p.nopreempt, holding)
        if verdict is BackupVerdict.PRIORITY_ZERO:
            # RFC 5798 §6.4.2: Master_Down_Timer = Skew_Time.
            self._detail(out, "Backup received priority 0 advertisement")
            self._arm_master_down(out, now, _DownBasis.SKEW, self._skew_us())
            return
        if verdict is BackupVerdict.DISCARD_LOWER:
            # Preempting and lower: discard; the timer keeps running (we take over).
            self._log(out, "received lower priority (%d) advert from %s - discarding"
                      % (event.priority, event.src))
            self._master_addr = event.src
            return
        self._learn_master_adver_int(out, event.adver_int)
        self._master_addr = event.src
        self._master_priority = event.priority
        if p.preempt_delay_ns:
            if event.priority >= self._effective:
                if self._preempt_until is not None:
                    self._detail(out, "stop preempt delay")
                    self._preempt_until = None
            elif self._preempt_until is None:
                delay_us = p.preempt_delay_ns // NS_PER_US
                self._detail(out, "start preempt delay (%d.%06d)" % (delay_us // 1_000_000, delay_us % 1_000_000))
                self._preempt_until = now + p.preempt_delay_ns
        self._wantstate = State.BACKUP
        self._arm_master_down_interval(out, now)

    def _master_rx(self, now: int, event: AdvertReceived, out: list) -> None:
        """RFC 5798 §6.4.3 / RFC 3768 §6.4.3 Master: an ADVERTISEMENT is received."""
        p = self.params
        addr_cmp = compare_addresses(event.src, self._primary)
        verdict = master_verdict(event.priority, self._effective, addr_cmp)
        if verdict is MasterVerdict.PRIORITY_ZERO or (
                p.higher_prio_send_advert and higher_prio_sends_advert(event.priority, self._effective, addr_cmp)):
            out.append(SendAdvert(self._effective))
            if verdict is MasterVerdict.PRIORITY_ZERO:
                # RFC 5798 §6.4.3: send an ADVERTISEMENT, reset the Adver_Timer.
                self._detail(out, "Master received priority 0 message")
                self._rearm_adver_after_rx(out, now)
                return
        if verdict is MasterVerdict.SAME_ADDRESS:
            self._log(out, "WARNING - equal priority advert received from remote host with our IP address.")
            self._rearm_adver_after_rx(out, now)
            return
        if verdict is MasterVerdict.OWNER_CONFLICT:
            self._log(out, "CONFIGURATION ERROR: local instance and a remote instance are both configured"
                      " as address owner, please fix - reducing local priority")
            self._base_priority = PRIORITY_OWNER - 1
            self._effective = PRIORITY_OWNER - 1
            out.append(PriorityUpdated(PRIORITY_OWNER, PRIORITY_OWNER - 1))
            verdict = MasterVerdict.HIGHER
        if verdict is MasterVerdict.LOWER:
            self._master_rx_lower(now, event, out)
            return
        if event.priority > self._effective:
            self._log(out, "Master received advert from %s with higher priority %d, ours %d"
                      % (event.src, event.priority, self._effective))
        else:
            self._log(out, "Master received advert from %s with same priority %d but higher IP address than ours"
                      % (event.src, event.priority))
        self._learn_master_adver_int(out, event.adver_int)
        self._master_priority = event.priority
        self._wantstate = State.BACKUP
        self._leave_master_for_backup(now, out)

    def _master_rx_lower(self, now: int, event: AdvertReceived, out: list) -> None:
        """keepalived: reassert mastership (RFC 9568 §6.4.3 sends an advert too)."""
        p = self.params
        self._log(out, "Received advert from %s with lower priority %d, ours %d%s"
                  % (event.src, event.priority, self._effective,
                     "" if p.lower_prio_no_advert else ", forcing new election"))
        if not p.lower_prio_no_advert:
            out.append(SendAdvert(self._effective))
        if p.garp_lower_prio_repeat:
            if self._vips_set:
                out.append(SendGarp(p.garp_lower_prio_repeat))
            if p.garp_lower_prio_delay_ns:
                self._arm(out, TimerKind.GARP_LOWER_PRIO, now + p.garp_lower_prio_delay_ns)
        self._notify(out, NotifyState.MASTER_RX_LOWER_PRI)
        self._rearm_adver_after_rx(out, now)

    def _on_rejected(self, now: int, event: AdvertRejected, out: list) -> None:
        if self._state in (State.BACKUP, State.MASTER) and not self._in_delay(now):
            out.append(Count(event.reason))

    def _on_timer(self, now: int, event: TimerFired, out: list) -> None:
        kind = event.kind
        if self._timers.get(kind) != event.deadline_ns:
            return  # cancelled or re-armed since: a stale expiry
        del self._timers[kind]
        # Each kind is armed only in the state that uses it and cancelled on
        # leaving it (the property tests hold the machine to that).
        p = self.params
        if kind is TimerKind.MASTER_DOWN:
            self._detail(out, "Receive advertisement timeout")
            if self.params.sync_group is not None:
                # keepalived vrrp_state_goto_master -> vrrp_sync_can_goto_master:
                # the group decides (SyncGoMaster / SyncHoldBackup).
                self._wantstate = State.MASTER
                out.append(MasterWanted())
                return
            self._goto_master(now, out)
        elif kind is TimerKind.ADVER:
            if self._in_delay(now):
                self._arm_adver(out, self._delay_until)
            elif not self._vips_set:
                self._enter_master(now, out, None)  # a master held silent by a delayed start
            else:
                # RFC 5798 §6.4.3 Adver_Timer fires: send an ADVERTISEMENT, reset the timer.
                out.append(SendAdvert(self._effective))
                self._arm_adver(out, now)
        elif kind is TimerKind.GARP_DELAYED:
            out.append(SendGarp(p.garp_master_repeat))
        elif kind is TimerKind.GARP_LOWER_PRIO:
            out.append(SendGarp(p.garp_lower_prio_repeat))
        elif kind is TimerKind.GARP_REFRESH:
            out.append(SendGarp(p.garp_master_refresh_repeat))
            self._arm(out, TimerKind.GARP_REFRESH, now + p.garp_master_refresh_ns)
        elif kind is TimerKind.STARTUP_DELAY:
            self._delay_until = None
            if self._state == State.MASTER and not self._vips_set:
                # Became master while the delay ran: announce now, not one
                # interval later (keepalived ≥ 2.4 waits for its Adver_Timer).
                self._enter_master(now, out, None)

    def _on_priority(self, now: int, event: PriorityChanged, out: list) -> None:
        """keepalived vrrp_set_effective_priority: log, recompute, rescale; the
        next advert carries it, none is sent now."""
        self._weight_total = event.weight_total
        if self._base_priority == PRIORITY_OWNER:
            return
        new = effective_priority(self._base_priority, self._weight_total)
        if new == self._effective:
            return
        self._log(out, "Changing effective priority from %d to %d" % (self._effective, new))
        out.append(PriorityUpdated(self._effective, new))
        self._effective = new
        old_us = self._ms_down_us
        self._ms_down_us = self._basis_us()
        deadline = self._timers.get(TimerKind.MASTER_DOWN)
        if self._state == State.BACKUP and deadline is not None and self._ms_down_us != old_us:
            moved = deadline + (self._ms_down_us - old_us) * NS_PER_US
            self._arm(out, TimerKind.MASTER_DOWN, max(moved, now))

    def _on_fault_set(self, now: int, event: FaultSet, out: list) -> None:
        was_faulted = any(not pending for pending in self._faults.values())
        if event.pending and self._state in (State.INIT, State.STOP):
            self._faults.setdefault(event.reason, True)
        else:
            self._faults[event.reason] = False
        if self._state in (State.INIT, State.STOP) or was_faulted:
            return
        self._wantstate = State.FAULT
        if self._state == State.MASTER:
            self._leave_master_for_fault(out)
        else:
            self._enter_fault(out)

    def _on_fault_cleared(self, now: int, event: FaultCleared, out: list) -> None:
        if self._faults.pop(event.reason, None) is None:
            return
        if self._state == State.FAULT and not self._faults:
            if self.params.sync_group is not None:
                # keepalived try_up_instance: the wantstate is settled now, but a
                # sync group member comes up only when every member has.
                if not (self._wantstate == State.MASTER and self._base_priority == PRIORITY_OWNER):
                    self._wantstate = State.BACKUP
                out.append(FaultRecovered())
                return
            self._leave_fault(now, out)

    def _on_source_address(self, now: int, event: SourceAddressChanged, out: list) -> None:
        self._primary = event.address

    # ------------------------------------------------- reload (SIGHUP)

    def _on_reconfigure(self, now: int, event: Reconfigure, out: list) -> None:
        """keepalived-vrrp.md §3.17, keepalived 2.2.7 reload of a matched instance
        (vrrp.c restore_vrrp_state / clear_diff_vrrp, vrrp_scheduler.c
        vrrp_init_state and vrrp_init_instance_sands with `reload`): the state
        is kept and the new parameters apply at once.
          * MASTER: the VIPs are diffed (UpdateVips), a GARP / NA burst goes
            out when addresses were added or a refresh is configured, the
            pending GARP timers are replaced by the new ones, and an
            ADVERTISEMENT with the new priority is sent at once, the
            Adver_Timer re-armed from now with the new Advertisement_Interval
            (RFC 5798 §6.4.3).  A master now below a peer keeps MASTER: the
            peer preempts it (RFC 5798 §6.4.2), as with keepalived.
          * BACKUP: Master_Adver_Interval is the configured one again, the
            known master and a running preempt delay are forgotten, and the
            Master_Down_Timer restarts from now with the new
            Master_Down_Interval (RFC 5798 §6.4.2); no log line, no notify.
          * FAULT, INIT, STOP: only the parameters change.
        The owner's priority 255 is never changed by tracking (RFC 5798
        §5.2.4); a base priority lowered by an owner conflict is reset."""
        new = event.params
        old = self.params
        if new.vrid != old.vrid:
            raise ValueError("%sReconfigure cannot change virtual_router_id %d to %d: restart"
                             % (self._prefix, old.vrid, new.vrid))
        if new.sync_group != old.sync_group:
            raise ValueError("%sReconfigure cannot change the sync group: restart" % self._prefix)
        self.params = new
        self._prefix = "(%s) " % new.name
        if new.primary_address is not None:
            self._primary = new.primary_address
        if event.weight_total is not None:
            self._weight_total = event.weight_total
        self._base_priority = new.priority
        self._adver_int_us = new.advert_int_us
        if new.priority == PRIORITY_OWNER:
            effective = PRIORITY_OWNER
        else:
            effective = effective_priority(new.priority, self._weight_total)
        if effective != self._effective:
            out.append(PriorityUpdated(self._effective, effective))
            self._effective = effective
        state = self._state
        if state == State.MASTER:
            self._mai_us = self._adver_int_us
            self._reconfigure_master(now, event, out)
        elif state == State.BACKUP:
            # RFC 5798 §6.4.2 / keepalived vrrp_init_state: a fresh wait.
            self._mai_us = self._adver_int_us
            self._master_addr = None
            self._master_priority = 0
            self._preempt_until = None
            self._wantstate = State.BACKUP
            self._arm_master_down_interval(out, now)
        else:
            if state == State.FAULT:
                self._mai_us = self._adver_int_us
            self._reset_down_basis()

    def _reconfigure_master(self, now: int, event: Reconfigure, out: list) -> None:
        p = self.params
        self._wantstate = State.MASTER
        for kind in _GARP_TIMERS:
            self._cancel(out, kind)      # keepalived's reload drops the old GARP threads
        if self._vips_set:
            out.append(UpdateVips())
            added = event.addresses_added
            if (added or p.garp_master_refresh_ns) and p.garp_master_repeat:
                out.append(SendGarp(p.garp_master_repeat))
            if added and p.garp_master_delay_ns:
                self._arm(out, TimerKind.GARP_DELAYED, now + p.garp_master_delay_ns)
            if p.garp_master_refresh_ns:
                first = (p.garp_master_delay_ns if added else 0) + p.garp_master_refresh_ns
                self._arm(out, TimerKind.GARP_REFRESH, now + first)
        if not self._vips_set:
            # a master held silent by vrrp_startup_delay announces itself when
            # the delay ends (STARTUP_DELAY), as before the reload
            if self._delay_until is not None:
                self._arm_adver(out, self._delay_until)
            return
        # keepalived vrrp_init_instance_sands: a reloaded master's advert is due now
        out.append(SendAdvert(self._effective))
        self._arm_adver(out, now)

    # ------------------------------------------------- sync group (sync.py)

    def _on_sync_startup(self, now: int, event: SyncStartup, out: list) -> None:
        self._start(now, event.startup_delay_ns, event.group_state, out)

    def _on_sync_go_master(self, now: int, event: SyncGoMaster, out: list) -> None:
        """keepalived vrrp_sync_master (or the group's consent): RFC 5798 §6.4.2
        transition to Master, from BACKUP or from a FAULT the group held."""
        if self._state == State.FAULT and not self._faults:
            self._mai_us = self._adver_int_us  # RFC 5798 §6.4.1: Master_Adver_Interval = local
            self._goto_master(now, out)
        elif self._state == State.BACKUP:
            self._goto_master(now, out)

    def _on_sync_hold_backup(self, now: int, event: SyncHoldBackup, out: list) -> None:
        """keepalived vrrp_sync_can_goto_master refused: wait a full
        Master_Down_Interval again (RFC 5798 §6.4.2), still wanting MASTER."""
        if self._state == State.BACKUP:
            self._arm_master_down_interval(out, now)

    def _on_sync_force_backup(self, now: int, event: SyncForceBackup, out: list) -> None:
        """keepalived vrrp_sync_backup for one member."""
        if self._state == State.MASTER:
            # vrrp_state_leave_master(advF = false): no priority-0 advert.
            self._wantstate = State.BACKUP
            self._leave_master_for_backup(now, out)
        elif self._state == State.FAULT and not self._faults:
            self._leave_fault_for_backup(now, out, source_garp=False)

    def _on_sync_force_fault(self, now: int, event: SyncForceFault, out: list) -> None:
        """keepalived vrrp_sync_fault for one member."""
        if self._state == State.MASTER:
            # vrrp_state_leave_master towards FAULT: one priority-0 advert.
            self._wantstate = State.FAULT
            self._leave_master_for_fault(out, by_group=True)
        elif self._state == State.BACKUP:
            # The state is set first, then vrrp_state_leave_fault: no
            # "Entering FAULT STATE" line (keepalived logs none), a notify.
            self._wantstate = State.FAULT
            self._set_state(out, State.FAULT)
            self._enter_fault(out)

    def _on_sync_leave_fault(self, now: int, event: SyncLeaveFault, out: list) -> None:
        """keepalived try_up_instance once no member of the group is faulty."""
        if self._state == State.FAULT and not self._faults:
            self._leave_fault(now, out, master_ok=event.master_ok)


# One dispatch table shared by every machine: event type -> handler (a
# per-instance dict of bound methods cost ~1.6 kB per instance, issue 6).
_HANDLERS: dict = {
    Startup: VrrpMachine._on_startup,
    Shutdown: VrrpMachine._on_shutdown,
    AdvertReceived: VrrpMachine._on_advert,
    AdvertRejected: VrrpMachine._on_rejected,
    TimerFired: VrrpMachine._on_timer,
    PriorityChanged: VrrpMachine._on_priority,
    FaultSet: VrrpMachine._on_fault_set,
    FaultCleared: VrrpMachine._on_fault_cleared,
    SourceAddressChanged: VrrpMachine._on_source_address,
    Reconfigure: VrrpMachine._on_reconfigure,
    SyncStartup: VrrpMachine._on_sync_startup,
    SyncGoMaster: VrrpMachine._on_sync_go_master,
    SyncHoldBackup: VrrpMachine._on_sync_hold_backup,
    SyncForceBackup: VrrpMachine._on_sync_force_backup,
    SyncForceFault: VrrpMachine._on_sync_force_fault,
    SyncLeaveFault: VrrpMachine._on_sync_leave_fault,
}
