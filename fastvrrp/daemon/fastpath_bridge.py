"""The VRRP machines' link to the fast path's slots.

The fast path (fastvrrp._fastpath.FastPath, or its pure-Python twin
fastvrrp.reference.fastpath.SlowPath) settles the steady state in C and
escalates everything else; this module turns each escalation into a machine
event, runs the machine (fastvrrp.vrrp: the authority), executes the timer
and send parts of its actions against the fast path, and pushes the
machine's new state back into the slot.  The engine gets the rest.

    fp = FastPath()                                     # or SlowPath()
    bridge = FastPathBridge(fp, on_actions)             # on_actions(index, now_ns, actions)
    sid_rx = fp.add_socket(rx.fileno(), 4, ifindex=ifindex)
    sid_tx = fp.add_socket(tx.fileno(), 4, ifindex=ifindex, receive=False)
    bridge.add_instance(0, VrrpMachine(params), rx_socket=sid_rx, tx_socket=sid_tx,
                        src="192.168.16.128", auth_type=1, auth_pass=b"1111")
    driver = FastPathDriver(fp, loop, bridge=bridge)     # fastpath_driver.py
    driver.add_socket(sid_rx, rx.fileno())
    driver.start()
    bridge.deliver(0, Startup())                        # engine events: Startup, Shutdown,
                                                        # PriorityChanged, FaultSet, ...
    bridge.counters(0)                                  # keepalived's per-instance stats

`on_actions(index, now_ns, actions)` receives, in the machine's order, what
the engine executes: AddVips, RemoveVips, SendGarp, SendSourceGarp, Notify,
Log, StateChanged, PriorityUpdated, and the sync-group requests
(MasterWanted, FaultRecovered, GroupNotify: the group answers through
deliver(), e.g. deliver(i, SyncGoMaster())), plus a Log line for the first
dropped packet of each reason per state.  It is called synchronously, possibly from
inside a fast-path call: it must not block (schedule netlink work, do not
await it) and must not call fp.tick/drain/inject; it may call
bridge.deliver() (sync groups).  The bridge itself executes ArmTimer,
CancelTimer and SendAdvert, and keeps Count actions as counters.

How the steady state stays consistent with the machine: a settle is, by
construction, an event the machine would process without changing anything
but one timer's deadline.  The fast path records the time of the last
settle per slot; before the machine sees any other event of that instance,
the bridge replays that last settled event (an identical advert from the
known master, or the Adver_Timer expiry), which brings the machine's timer to
the deadline C set, and checks that the replay did exactly that (`strict`
raises on a mismatch, otherwise it is logged, counted in
`inconsistencies`, and the machine's answer wins).

Settling is allowed per slot by update_slot flags computed from the machine
after every event (see _push): case (a) needs BACKUP (wanting BACKUP), a known
master, no preempt_delay pending, no startup delay, and a Master_Down_Timer
last armed from Master_Down_Interval by an accepted advert; case (b) needs
MASTER with its VIPs set and no startup delay.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Optional

from fastvrrp import proto
try:    # issue 6 (start-up): the compiled twin's constants, without the reference's imports
    from fastvrrp._fastpath import (ESCALATE_ADVERT, ESCALATE_DROP, ESCALATE_TIMER, REASONS,
                                    TIMER_ADVER, TIMER_KINDS, TIMER_MASTER_DOWN)
except ImportError:     # no compiled core: the engine says so when it starts
    from fastvrrp.reference.fastpath import (ESCALATE_ADVERT, ESCALATE_DROP, ESCALATE_TIMER,
                                             REASONS, TIMER_ADVER, TIMER_KINDS,
                                             TIMER_MASTER_DOWN)
from fastvrrp.vrrp import (AdvertReceived, AdvertRejected, ArmTimer, CancelTimer, Count, Log,
                           PriorityChanged, SendAdvert, SourceAddressChanged, State,
                           StateChanged, TimerFired, TimerKind, VrrpMachine)
from fastvrrp.vrrp.kinds import Counter

from .fastpath_driver import FastPathDriver  # re-exported: importers take it from here

log = logging.getLogger("fastvrrp.fastpath")

# fastvrrp._fastpath timer kinds: 0 and 1 are the two C settles (RFC 5798 §6.2
# Master_Down_Timer, Adver_Timer); every other kind is opaque to C.
TIMER_CODE = {TimerKind.MASTER_DOWN: TIMER_MASTER_DOWN, TimerKind.ADVER: TIMER_ADVER}
for _kind in TimerKind:
    TIMER_CODE.setdefault(_kind, len(TIMER_CODE))
if len(TIMER_CODE) > TIMER_KINDS:
    raise RuntimeError("the fast path has %d timer kinds per slot, the machine uses %d"
                       % (TIMER_KINDS, len(TIMER_CODE)))
TIMER_KIND = {code: kind for kind, code in TIMER_CODE.items()}

# Drop reasons (fastvrrp._fastpath.REASONS) -> keepalived's counter.
_REASON_COUNTER = dict(proto.KEEPALIVED_COUNTER)
_REASON_COUNTER.update({"interval": "advert_interval_err", "not_peer": None,
                        "destination": "addr_list_err", "unknown_vrid": None,
                        "no_pktinfo": None, "truncated": "packet_len_err"})
_DROP_TEXT = {
    "ttl": "TTL/hop limit is not 255 (RFC 5798 §7.1)",
    "version": "unknown VRRP version",
    "type": "not an ADVERTISEMENT (RFC 5798 §5.2.2)",
    "count_zero": "no addresses (Count IPvX Addr 0)",
    "length": "length does not match the address count",
    "adver_int_zero": "advertisement interval 0",
    "auth_type": "invalid authentication type",
    "checksum": "bad checksum (RFC 5798 §5.2.8)",
    "version_mismatch": "VRRP version differs from ours",
    "auth_type_mismatch": "authentication type differs from ours",
    "auth_failure": "authentication failure (password)",
    "not_peer": "source is not a configured unicast peer",
    "destination": "multicast/unicast destination does not match the instance",
}
# Count actions the fast path counts itself (C is the authority for them).
_C_COUNTED = frozenset({Counter.ADVERT_RCVD, Counter.ADVERT_INTERVAL_ERR})
_KEEPALIVED_COUNTERS = tuple(c.value for c in Counter)
# Issue 6 (memory): the counts Python keeps (the machine's Count actions C does
# not count) live in one bridge-wide dict keyed by slot index and counter
# code, not in a dict per instance.
_COUNTERS = tuple(Counter)
_COUNTER_CODE = {c: i for i, c in enumerate(_COUNTERS)}
_COUNTER_BITS = max(1, (len(_COUNTERS) - 1).bit_length())


class ReplayMismatch(AssertionError):
    """The replay of a settled event did not give what the fast path assumed."""


class _Link:
    __slots__ = ("index", "machine", "md_interval")

    def __init__(self, index: int, machine: VrrpMachine) -> None:
        self.index = index
        self.machine = machine
        self.md_interval = False     # Master_Down_Timer last armed from Master_Down_Interval


class FastPathBridge:
    """See the module docstring."""

    def __init__(self, fastpath, on_actions: Optional[Callable] = None, *, strict: bool = False):
        self.fp = fastpath
        self._on_actions = on_actions
        self.strict = bool(strict)
        self._links: dict[int, _Link] = {}
        self._counts: dict[int, int] = {}    # _count_key(index, counter) -> count
        self.timers_changed: Optional[Callable[[], None]] = None   # the driver's poke
        self.inconsistencies = 0
        self.unknown_escalations = 0
        fastpath.set_escalation(self._escalated)

    # ------------------------------------------------------------ instances

    def add_instance(self, index: int, machine: VrrpMachine, *, rx_socket: int, tx_socket: int,
                     src, peers=(), check_peers: Optional[bool] = None, auth_type: int = 0,
                     auth_pass=b"", group=None, checksum_form=None, ttl: int = 255) -> None:
        """Give instance `index` (its machine, not started yet) a slot.

        src: our source address (IPv4 primary / mcast_src_ip / unicast_src_ip;
        IPv6 link-local); peers: unicast peers (check_peers defaults to True
        with peers); auth_type/auth_pass: VRRPv2 PASS; ttl: the IPv4 TTL
        (unicast_ttl)."""
        if not isinstance(machine, VrrpMachine):
            raise TypeError("add_instance needs a VrrpMachine, not %r" % (type(machine).__name__,))
        if index in self._links:
            raise ValueError("instance %r already has a slot" % (index,))
        p = machine.params
        self._configure_slot(index, p, rx_socket=rx_socket, tx_socket=tx_socket, src=src,
                             peers=peers, check_peers=check_peers, auth_type=auth_type,
                             auth_pass=auth_pass, group=group, checksum_form=checksum_form,
                             ttl=ttl)
        link = _Link(index, machine)
        self._links[index] = link
        self._push(link)

    def _configure_slot(self, index: int, p, *, rx_socket: int, tx_socket: int, src, peers,
                        check_peers, auth_type, auth_pass, group, checksum_form, ttl) -> None:
        """fp.configure_slot from the machine's params (creates, or reconfigures
        in place keeping the slot's timers and counters)."""
        if not p.vips:
            raise ValueError("vrrp instance %r: the fast path needs at least one VIP to advertise"
                             % (p.name,))
        if check_peers is None:
            check_peers = bool(peers)
        self.fp.configure_slot(
            index, family=p.vips[0].version, version=p.version, vrid=p.vrid, rx_socket=rx_socket,
            tx_socket=tx_socket, src=src, addresses=p.vips, advert_int_cs=p.advert_int_cs,
            auth_type=auth_type, auth_pass=auth_pass, peers=peers, check_peers=check_peers,
            group=group, checksum_form=checksum_form, ttl=ttl,
            skip_check_adv_addr=p.skip_check_adv_addr,
            # RFC 5798 §6.1 Preempt_Mode False: every priority is accepted; with a
            # preempt_delay the acceptance depends on time, so C never takes a lower one.
            accept_lower=p.nopreempt and not p.preempt_delay_ns)

    def reconfigure(self, index: int, event, *, rx_socket: int, tx_socket: int, src, peers=(),
                    check_peers: Optional[bool] = None, auth_type: int = 0, auth_pass=b"",
                    group=None, checksum_form=None, ttl: int = 255,
                    now_ns: Optional[int] = None) -> None:
        """Reload of a running instance (event: fastvrrp.vrrp.events.Reconfigure,
        keepalived-vrrp.md §3.17): the slot is reconfigured in place (its timers
        and counters stay, so a master's adverts go on without a gap), then the
        machine takes the new params and its actions run as any event's.
        The settled events are replayed first, under the old params.  A slot
        configuration the fast path refuses raises ValueError before the
        machine changes."""
        link = self._link(index)
        now = self._now(now_ns)
        self._catch_up(link)
        self._configure_slot(index, event.params, rx_socket=rx_socket, tx_socket=tx_socket,
                             src=src, peers=peers, check_peers=check_peers, auth_type=auth_type,
                             auth_pass=auth_pass, group=group, checksum_form=checksum_form,
                             ttl=ttl)
        self._handle(link, now, event)
        if not self.fp.busy:
            self.fp.flush()
        self._poke()

    def remove_instance(self, index: int) -> VrrpMachine:
        """Release the slot (timers cancelled); returns the machine."""
        link = self._link(index)
        self.fp.remove_slot(index)
        del self._links[index]
        base = index << _COUNTER_BITS
        for code in range(len(_COUNTERS)):
            self._counts.pop(base | code, None)
        return link.machine

    def machine(self, index: int) -> VrrpMachine:
        """The instance's machine, brought up to date with the settled events
        (read it; give it events only through deliver())."""
        link = self._link(index)
        self._catch_up(link)
        return link.machine

    def _link(self, index: int) -> _Link:
        try:
            return self._links[index]
        except KeyError:
            raise KeyError("no instance %r is linked to the fast path" % (index,)) from None

    def __len__(self) -> int:
        return len(self._links)

    # ------------------------------------------------------------ events

    def deliver(self, index: int, event, now_ns: Optional[int] = None) -> None:
        """An engine-side event (Startup, Shutdown, PriorityChanged, FaultSet,
        FaultCleared, SourceAddressChanged, ...): run the machine, execute,
        update the slot, hand the engine its actions, send what is queued."""
        link = self._link(index)
        now = self._now(now_ns)
        self._run(link, now, event)
        if not self.fp.busy:
            self.fp.flush()
        self._poke()

    def set_source_address(self, index: int, address, now_ns: Optional[int] = None) -> None:
        """Our primary (source) address changed: the adverts are rebuilt and the
        machine's tie-break address follows (RFC 5798 §6.4.3)."""
        self.fp.set_source(index, address)
        self.deliver(index, SourceAddressChanged(address), now_ns)

    def _now(self, now_ns: Optional[int]) -> int:
        if now_ns is None:
            return max(time.monotonic_ns(), self.fp.now_ns)
        if not isinstance(now_ns, int) or isinstance(now_ns, bool) or now_ns < 0:
            raise ValueError("now_ns must be a non-negative integer, not %r" % (now_ns,))
        return now_ns

    def _escalated(self, index: int, what: int, now: int, arg) -> None:
        """The fast path's escalation callback."""
        link = self._links.get(index)
        if link is None:
            self.unknown_escalations += 1
            return
        if what == ESCALATE_TIMER:
            self._run_timer(link, now, TIMER_KIND[arg])
        elif what == ESCALATE_ADVERT:
            self._run(link, now, AdvertReceived(arg.src, arg.priority, arg.adver_int,
                                                tuple(arg.addresses)))
        elif what == ESCALATE_DROP:
            self._dropped(link, now, *arg)
        self._poke()

    def _dropped(self, link: _Link, now: int, reason: int, adv) -> None:
        """First drop of its reason since the last state/master change: log it and
        let the machine see the rejection (the fast path counted it)."""
        name = REASONS[reason] if 0 <= reason < len(REASONS) else str(reason)
        machine = link.machine
        if machine.state in (State.BACKUP, State.MASTER) and self._on_actions is not None:
            text = "(%s) dropped VRRP packet from %s: %s" % (
                machine.params.name, adv.src, _DROP_TEXT.get(name, name))
            self._on_actions(link.index, now, [Log(logging.INFO, text)])
        counter = _REASON_COUNTER.get(name)
        if counter is not None:
            event = AdvertRejected(Counter(counter))
            self._run(link, now, event)

    def _poke(self) -> None:
        if self.timers_changed is not None:
            self.timers_changed()

    # ------------------------------------------------------------ the machine

    def _run(self, link: _Link, now: int, event) -> None:
        self._catch_up(link)
        self._handle(link, now, event)

    def _run_timer(self, link: _Link, now: int, kind: TimerKind) -> None:
        self._catch_up(link)
        deadline = link.machine.timers.get(kind)
        if deadline is None:
            # The fast path fired a timer the machine does not have: the slot
            # and the machine disagree.
            self._inconsistent(link, "fast path fired %s, which the machine has not armed"
                               % kind.value)
            return
        self._handle(link, now, TimerFired(kind, deadline))

    def _handle(self, link: _Link, now: int, event) -> None:
        self._apply(link, now, event, link.machine.handle(now, event))

    def _apply(self, link: _Link, now: int, event, actions, skip=()) -> None:
        """Carry out the machine's `actions` for `event` (those in `skip` the
        fast path did already), update the slot, hand the engine the rest."""
        engine = self._execute(link, now, event, actions, skip)
        self._track_basis(link, now, event, actions)
        self._push(link)
        if engine and self._on_actions is not None:
            self._on_actions(link.index, now, engine)

    def _execute(self, link: _Link, now: int, event, actions, skip=()) -> list:
        """Timers and adverts go to the fast path, counters to the link; the rest
        is returned for the engine."""
        fp, index = self.fp, link.index
        engine = []
        for action in actions:
            kind = type(action)
            if action in skip:
                continue
            if kind is ArmTimer:
                fp.arm_timer(index, TIMER_CODE[action.kind], action.deadline_ns)
            elif kind is CancelTimer:
                fp.cancel_timer(index, TIMER_CODE[action.kind])
            elif kind is SendAdvert:
                fp.send_advert(index, action.priority, now)
            elif kind is Count:
                if action.counter in _C_COUNTED or isinstance(event, AdvertRejected):
                    continue                # counted in C
                key = (index << _COUNTER_BITS) | _COUNTER_CODE[action.counter]
                self._counts[key] = self._counts.get(key, 0) + 1
            else:
                engine.append(action)
        return engine

    def _track_basis(self, link: _Link, now: int, event, actions) -> None:
        """Whether the pending Master_Down_Timer was armed from Master_Down_Interval
        (the machine's _DownBasis.INTERVAL): only then is an accepted advert from
        the known master a fixed point.  A priority change rescales the timer but
        keeps what it was armed with."""
        if isinstance(event, PriorityChanged):
            return
        machine = link.machine
        for action in actions:
            kind = type(action)
            if kind is StateChanged:
                link.md_interval = False
            elif kind is ArmTimer and action.kind is TimerKind.MASTER_DOWN:
                link.md_interval = action.deadline_ns == now + machine.master_down_interval_ns
            elif kind is CancelTimer and action.kind is TimerKind.MASTER_DOWN:
                link.md_interval = False

    def _push(self, link: _Link) -> None:
        """The machine's state into the slot: what C needs to settle, and whether it may."""
        m = link.machine
        p = m.params
        state = m.state
        timers = m.timers
        quiet = m.startup_delay_until_ns is None
        rx_settle = (state is State.BACKUP and m.wantstate is State.BACKUP
                     and m.master_addr is not None and m.master_priority > 0
                     and m.preempt_until_ns is None and quiet
                     and TimerKind.MASTER_DOWN in timers and link.md_interval)
        tx_settle = (state is State.MASTER and m.vips_set and quiet
                     and TimerKind.ADVER in timers)
        self.fp.update_slot(
            link.index, state=int(state), priority=m.effective_priority, master=m.master_addr,
            master_priority=m.master_priority, master_adver_int=self._adver_int_field(m),
            master_down_ns=m.master_down_interval_ns, rx_settle=rx_settle, tx_settle=tx_settle,
            delay_until_ns=m.startup_delay_until_ns)

    @staticmethod
    def _adver_int_field(machine: VrrpMachine) -> int:
        """The Adver Int field of an advert the machine accepts without change:
        v2 our own interval in s (RFC 3768 §7.1), v3 the learned
        Master_Adver_Interval in cs (RFC 5798 §6.4.2)."""
        p = machine.params
        if p.version == 2:
            return p.advert_int_cs // 100
        return machine.master_adver_interval_ns // 10_000_000

    # ------------------------------------------------------------ catch-up

    def _catch_up(self, link: _Link) -> None:
        """Replay the last settled event of each kind into the machine (see the
        module docstring) and check that it did what the fast path did."""
        rx_at, tx_at = self.fp.take_settled(link.index)
        m = link.machine
        if rx_at is not None:
            p = m.params
            event = AdvertReceived(m.master_addr, m.master_priority, self._adver_int_field(m),
                                   p.vips)
            self._check_replay(link, rx_at, event, m.handle(rx_at, event),
                               TimerKind.MASTER_DOWN, (Count(Counter.ADVERT_RCVD),))
        if tx_at is not None:
            deadline = m.timers.get(TimerKind.ADVER)
            if deadline is None:
                self._inconsistent(link, "Adver_Timer settled in C but not armed in the machine")
                return
            event = TimerFired(TimerKind.ADVER, deadline)
            self._check_replay(link, tx_at, event, m.handle(tx_at, event), TimerKind.ADVER,
                               (SendAdvert(m.effective_priority),))

    def _check_replay(self, link: _Link, at: int, event, actions, kind: TimerKind,
                      done: tuple) -> None:
        armed = self.fp.armed_deadline(link.index, TIMER_CODE[kind])
        expected = list(done) + [ArmTimer(kind, armed)]
        if actions == expected:
            return
        self._inconsistent(link, "replaying %r at %d gave %r, the fast path assumed %r"
                           % (event, at, actions, expected))
        # The machine is the authority: do what it says (what C already did is skipped).
        self._apply(link, at, event, actions, skip=done)

    def _inconsistent(self, link: _Link, text: str) -> None:
        self.inconsistencies += 1
        message = "(%s) fast path and state machine disagree: %s" % (link.machine.params.name, text)
        if self.strict:
            raise ReplayMismatch(message)
        log.error(message)

    # ------------------------------------------------------------ counters

    def counters(self, index: int) -> dict:
        """keepalived's per-instance stats (vrrp.h stats_t names): the fast path's
        receive/send/drop counts plus what the machine counted."""
        link = self._link(index)
        st = self.fp.slot_stats(index)
        out = dict.fromkeys(_KEEPALIVED_COUNTERS, 0)
        out["advert_rcvd"] = st["advert_rcvd"]
        out["advert_sent"] = st["advert_sent"]
        for name, n in st["drops"].items():
            counter = _REASON_COUNTER.get(name)
            if counter is not None:
                out[counter] += n
        base = link.index << _COUNTER_BITS
        counts = self._counts
        for code, counter in enumerate(_COUNTERS):
            n = counts.get(base | code)
            if n:
                out[counter.value] += n
        return out


__all__ = ["TIMER_CODE", "TIMER_KIND", "FastPathBridge", "FastPathDriver", "ReplayMismatch"]
