"""Per-instance tracking: tracker states -> weight total and FAULT reasons.

keepalived 2.2.7 (vrrp_track.c `initialise_*_tracking_priorities`,
`process_script_update_priority`, `process_update_track_process_status`;
track_file.c `process_update_vrrp_track_file_status`; keepalived_netlink.c
`process_if_status_change`; reference §3.2-§3.4):

A tracker with weight w and multiplier m (-1 with `reverse`, else +1)
contributes, for interfaces (up = IFF_UP && IFF_RUNNING), scripts (OK / KO)
and processes (quorum / no quorum):

    weight    tracker up / OK     tracker down / KO
    w > 0     +w*m                0
    w < 0     0                   -|w|*m
    w == 0    FAULT if reverse    FAULT unless reverse

- a script that has not reported yet (INIT) contributes 0 when weighted;
  unweighted, it holds the instance in a *pending* fault (keepalived's
  silent pseudo-FAULT: no FAULT notify before Startup);
- a track_file with value v contributes clamp(v*w*m, -254, 253), and a result
  <= -254 is a FAULT (contributing 0); with weight 0 a non-zero value is a
  FAULT (a zero value if reversed);
- the effective priority is clamp(base + total, 1, 254), and an address
  owner (base 255) is never changed by weights (its trackers still FAULT it):
  the machine applies that (fastvrrp.vrrp.priority), this module reports
  `weight_total`, always 0 for an owner.

`InstanceTracking` turns tracker changes into the state machine's events
(`PriorityChanged(weight_total)`, `FaultSet(reason, pending)`,
`FaultCleared(reason)`), each only when something changed, and keeps a
per-tracker breakdown for the status API.  `TrackingHub` holds the tracker
states once and fans a change out to every instance that uses the tracker.
`instance_trackers()` lists an instance's trackers from the config model,
including the interfaces keepalived tracks implicitly (the instance's own
interface unless `dont_track_primary`; interfaces carrying VIPs, eVIPs,
virtual routes and rules unless `no_track`).

A tracker listed twice for one instance (say on the instance and on its sync
group) is tracked once, as keepalived merges them (add_vrrp_to_interface,
add_obj_to_track_file): an unweighted entry wins; otherwise the later
entry's weight replaces the earlier one.

Deliberate difference from 2.2.7: a script with `init_fail` starts KO and is
counted by the table above; 2.2.7 forgets `reverse` for it at startup (its
weight without the multiplier; FAULT for `weight 0 reverse`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Optional

from ..vrrp.events import FaultCleared, FaultSet, PriorityChanged
from ..vrrp.priority import PRIORITY_OWNER, check_base_priority, effective_priority
from .registry import lookup
from .risefall import ScriptState

FILE_FAULT = -254           # a track_file result at or below this is FAULT
FILE_MAX = 253
WEIGHT_LIMIT = 254


class Kind(enum.Enum):
    INTERFACE = "track_interface"
    SCRIPT = "track_script"
    FILE = "track_file"
    PROCESS = "track_process"


@dataclass(frozen=True, slots=True)
class TrackerSpec:
    """One tracker as an instance uses it: kind, name, weight, reverse."""
    kind: Kind
    name: str
    weight: int = 0
    reverse: bool = False

    def __post_init__(self):
        if not isinstance(self.kind, Kind):
            raise ValueError("tracker kind must be a Kind, not %r" % (self.kind,))
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("%s name must be a non-empty string, not %r"
                             % (self.kind.value, self.name))
        if isinstance(self.weight, bool) or not isinstance(self.weight, int) \
                or abs(self.weight) > WEIGHT_LIMIT:
            raise ValueError("%s %s: weight must be an integer -%d..%d, not %r"
                             % (self.kind.value, self.name, WEIGHT_LIMIT, WEIGHT_LIMIT,
                                self.weight))
        if not isinstance(self.reverse, bool):
            raise ValueError("%s %s: reverse must be a bool, not %r"
                             % (self.kind.value, self.name, self.reverse))

    @property
    def key(self) -> tuple:
        return (self.kind, self.name)

    @property
    def reason(self) -> str:
        """The fault reason this tracker sets on the machine."""
        return "%s %s" % (self.kind.value, self.name)


@dataclass(frozen=True, slots=True)
class Contribution:
    weight: int             # added to the instance's weight total
    fault: bool             # holds the instance in FAULT
    pending: bool = False   # ... silently, until the tracker reports (scripts in INIT)


NONE = Contribution(0, False)


def check_state(kind: Kind, state) -> None:
    """Raise ValueError unless `state` is a valid state for a tracker of `kind`."""
    if kind is Kind.SCRIPT:
        ok = isinstance(state, ScriptState)
        want = "a ScriptState"
    elif kind is Kind.FILE:
        ok = isinstance(state, int) and not isinstance(state, bool)
        want = "an integer value"
    else:
        ok = isinstance(state, bool)
        want = "True (up) or False (down)"
    if not ok:
        raise ValueError("%s state must be %s, not %r" % (kind.value, want, state))


# Issue 6 (memory): the few distinct Contributions and TrackerSpecs are shared
# by every instance (bounded by the configuration: weights, names, states).
_SHARED_CONTRIBS: dict = {NONE: NONE}
_SHARED_SPECS: dict = {}            # TrackerSpec -> (the shared spec, its key)


def shared_spec(spec: TrackerSpec) -> tuple:
    """(the one TrackerSpec equal to `spec`, its key), shared process-wide."""
    got = _SHARED_SPECS.get(spec)
    if got is None:
        got = _SHARED_SPECS[spec] = (spec, spec.key)
    return got


def contribution(spec: TrackerSpec, state) -> Contribution:
    """The table in the module docstring: what `spec` in `state` does to an
    instance (one shared object per distinct value)."""
    c = _contribution(spec, state)
    return _SHARED_CONTRIBS.setdefault(c, c)


def _contribution(spec: TrackerSpec, state) -> Contribution:
    check_state(spec.kind, state)
    m = -1 if spec.reverse else 1
    w = spec.weight
    if spec.kind is Kind.FILE:
        if w == 0:
            return Contribution(0, (state != 0) != spec.reverse)
        value = state * w * m
        if value <= FILE_FAULT:
            return Contribution(0, True)
        return Contribution(min(value, FILE_MAX), False)
    if spec.kind is Kind.SCRIPT:
        if state is ScriptState.INIT:
            return Contribution(0, True, True) if w == 0 else NONE
        up = state is ScriptState.OK
    else:
        up = state
    if w == 0:
        return Contribution(0, up == spec.reverse)
    if w > 0:
        return Contribution(w * m, False) if up else NONE
    return NONE if up else Contribution(w * m, False)


def describe_state(kind: Kind, state):
    """The state as the status API shows it."""
    if kind is Kind.SCRIPT:
        return state.value
    if kind is Kind.FILE:
        return state
    return "up" if state else "down"


@dataclass(frozen=True, slots=True)
class TrackerStatus:
    """One row of an instance's tracking breakdown (status API)."""
    kind: str
    name: str
    state: object           # "up"/"down", "INIT"/"OK"/"KO", or a track_file value
    weight: int
    reverse: bool
    contribution: int       # what it adds to the weight total now
    fault: bool
    pending: bool

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "state": self.state,
                "weight": self.weight, "reverse": self.reverse,
                "contribution": self.contribution, "fault": self.fault, "pending": self.pending}


def merge_specs(specs: Iterable[TrackerSpec]) -> list[TrackerSpec]:
    """One spec per tracker, merged as keepalived merges duplicates (see the
    module docstring); first-appearance order is kept."""
    merged: dict[tuple, TrackerSpec] = {}
    for spec in specs:
        if not isinstance(spec, TrackerSpec):
            raise ValueError("expected TrackerSpec, not %r" % (spec,))
        old = merged.get(spec.key)
        if old is None or old.weight != 0:
            merged[spec.key] = spec
    return [shared_spec(spec)[0] for spec in merged.values()]


class _Entry:
    """One tracker of one instance: its spec, the state last seen, what it adds."""

    __slots__ = ("spec", "state", "contrib")

    def __init__(self, spec: TrackerSpec, state, contrib: Contribution) -> None:
        self.spec = spec
        self.state = state
        self.contrib = contrib


class _Entries(tuple):
    """An instance's _Entry objects by tracker key, for the few trackers an
    instance has: a tuple with the mapping reads InstanceTracking uses
    (issue 6 memory: ~60 bytes against a one-entry dict's ~240, for
    thousands of instances each tracking its own interface).  Keys are
    unique (merge_specs); a lookup scans, as keepalived walks its lists."""

    __slots__ = ()

    def get(self, key, default=None):
        for entry in self:
            if entry.spec.key == key:
                return entry
        return default

    def __contains__(self, key) -> bool:
        return self.get(key) is not None

    def values(self):
        return self


_MANY = 16      # more trackers than this: a dict (constant-time lookups)


class InstanceTracking:
    """The trackers of one instance and what they add up to.

        tracking = InstanceTracking("VI_1", specs, states, base_priority=100)
        for event in tracking.initial_events(): machine.handle(now, event)
        ...
        for event in tracking.update(Kind.INTERFACE, "eth1", False): machine.handle(now, event)

    `states` maps (Kind, name) to each tracker's current state (a script
    missing from it is INIT); events come out only when the weight total or a
    fault reason changed.
    """

    __slots__ = ("instance", "base_priority", "owner", "_entries", "_raw", "_total")

    def __init__(self, instance: str, specs: Iterable[TrackerSpec],
                 states: Optional[Mapping] = None, *, base_priority: int = 100):
        if not isinstance(instance, str) or not instance:
            raise ValueError("instance name must be a non-empty string, not %r" % (instance,))
        check_base_priority(base_priority)
        self.instance = instance
        self.base_priority = base_priority
        self.owner = base_priority == PRIORITY_OWNER
        states = states or {}
        # key -> _Entry(spec, state, contribution): _Entries, or a dict for many (issue 6)
        entries: dict[tuple, _Entry] = {}
        raw = 0
        for spec in merge_specs(specs):
            spec, key = shared_spec(spec)
            if key in states:
                state = states[key]
            elif spec.kind is Kind.SCRIPT:
                state = ScriptState.INIT
            else:
                raise ValueError("(%s) no state known for %s %s" % (instance, spec.kind.value,
                                                                    spec.name))
            entry = entries[key] = _Entry(spec, state, contribution(spec, state))
            raw += entry.contrib.weight
        self._entries = entries if len(entries) > _MANY else _Entries(entries.values())
        self._raw = raw
        # RFC 5798 §5.2.4: the address owner's Priority (255) never moves.
        self._total = 0 if self.owner else self._raw

    # ------------------------------------------------------------ queries

    @property
    def specs(self) -> tuple[TrackerSpec, ...]:
        return tuple(e.spec for e in self._entries.values())

    def tracks(self, kind: Kind, name: str) -> bool:
        return (kind, name) in self._entries

    @property
    def weight_total(self) -> int:
        """Σ contributions (0 for an address owner): PriorityChanged's argument."""
        return self._total

    @property
    def effective_priority(self) -> int:
        """RFC 5798 §6.1 Priority as advertised: clamp(base + total, 1, 254), owner 255."""
        return effective_priority(self.base_priority, self._total)

    @property
    def faults(self) -> frozenset:
        """Reasons holding the instance in FAULT (pending ones excluded)."""
        return frozenset(e.spec.reason for e in self._entries.values()
                         if e.contrib.fault and not e.contrib.pending)

    @property
    def pending(self) -> frozenset:
        """Reasons of trackers that have not reported yet (unweighted scripts in INIT)."""
        return frozenset(e.spec.reason for e in self._entries.values() if e.contrib.pending)

    @property
    def in_fault(self) -> bool:
        return any(e.contrib.fault for e in self._entries.values())

    def breakdown(self) -> tuple[TrackerStatus, ...]:
        rows = []
        for e in self._entries.values():
            spec, c = e.spec, e.contrib
            rows.append(TrackerStatus(spec.kind.value, spec.name,
                                      describe_state(spec.kind, e.state), spec.weight,
                                      spec.reverse, 0 if self.owner else c.weight, c.fault,
                                      c.pending))
        return tuple(rows)

    # ------------------------------------------------------------ events

    def initial_events(self) -> list:
        """The events that bring a fresh machine (weight total 0, no faults) to
        the current tracking state; feed them before Startup."""
        out = []
        if self._total:
            out.append(PriorityChanged(self._total))
        for e in self._entries.values():
            if e.contrib.fault:
                out.append(FaultSet(e.spec.reason, pending=e.contrib.pending))
        return out

    def update(self, kind: Kind, name: str, state) -> list:
        """Tracker (kind, name) is now in `state`: the machine events, in order."""
        entry = self._entries.get((kind, name))
        if entry is None:
            return []
        spec = entry.spec
        new = contribution(spec, state)
        entry.state = state
        old = entry.contrib
        if new == old:
            return []
        entry.contrib = new
        self._raw += new.weight - old.weight
        total = 0 if self.owner else self._raw
        priority = []
        if total != self._total:
            self._total = total
            priority.append(PriorityChanged(total))
        reason = spec.reason
        if new.fault and (not old.fault or old.pending != new.pending):
            # Into FAULT first, then the priority (keepalived leaves the
            # effective priority alone while it goes down).
            return [FaultSet(reason, pending=new.pending)] + priority
        if old.fault and not new.fault:
            # The priority first, so the instance comes back up with it.
            return priority + [FaultCleared(reason)]
        return priority


class TrackingHub:
    """Tracker states, held once, fanned out to every instance using them.

        hub = TrackingHub(emit=lambda instance, event: ...)
        hub.set_state(Kind.INTERFACE, "eth0", True)          # initial states first
        vi1 = hub.add_instance("VI_1", specs, base_priority=100)
        links = LinkTracker(names, on_change=hub.callback(Kind.INTERFACE))

    `set_state` returns the (instance name, event) pairs and passes each to
    `emit` too.
    """

    def __init__(self, emit: Optional[Callable[[str, object], None]] = None):
        self._emit = emit
        self._states: dict[tuple, object] = {}
        self._instances: dict[str, InstanceTracking] = {}
        self._users: dict[tuple, list[InstanceTracking]] = {}

    def state(self, kind: Kind, name: str):
        return self._states.get((kind, name))

    def set_state(self, kind: Kind, name: str, state) -> list:
        if not isinstance(kind, Kind):
            raise ValueError("tracker kind must be a Kind, not %r" % (kind,))
        check_state(kind, state)
        self._states[(kind, name)] = state
        out = []
        for tracking in self._users.get((kind, name), ()):
            for event in tracking.update(kind, name, state):
                out.append((tracking.instance, event))
        if self._emit is not None:
            for instance, event in out:
                self._emit(instance, event)
        return out

    def callback(self, kind: Kind) -> Callable:
        """An `on_change(name, old, new)` for a tracker of `kind`."""
        def changed(name, _old, new):
            self.set_state(kind, name, new)
        return changed

    def add_instance(self, instance: str, specs: Iterable[TrackerSpec], *,
                     base_priority: int = 100) -> InstanceTracking:
        if instance in self._instances:
            raise ValueError("instance %s is already tracked" % instance)
        tracking = InstanceTracking(instance, specs, self._states, base_priority=base_priority)
        self._instances[instance] = tracking
        for spec in tracking.specs:
            self._users.setdefault(spec.key, []).append(tracking)
        return tracking

    def remove_instance(self, instance: str) -> None:
        tracking = self._instances.pop(instance, None)
        if tracking is None:
            return
        for spec in tracking.specs:
            users = self._users.get(spec.key)
            if users is not None:
                users.remove(tracking)
                if not users:
                    del self._users[spec.key]

    def instance(self, instance: str) -> InstanceTracking:
        return lookup(self._instances, instance, "instance %r is not tracked")

    @property
    def instances(self) -> tuple[str, ...]:
        return tuple(self._instances)

    def names(self, kind: Kind) -> tuple[str, ...]:
        """Every tracker of `kind` some instance uses (what to start trackers for)."""
        return tuple(name for k, name in self._users if k is kind)


# ----------------------------------------------------------------- from the config

_NOT_TRACKED = object()


def _interface_specs(inst) -> list[TrackerSpec]:
    """keepalived vrrp_complete_instance's add_vrrp_to_interface calls, merged."""
    own = inst.interface
    vmac = inst.use_vmac.ifname if getattr(inst, "use_vmac", None) is not None else None
    primary = {n for n in (own, vmac) if n}
    entries: list = []                              # (name, weight or _NOT_TRACKED, reverse)
    for t in inst.track_interfaces:
        # a sync group's track_interface of the own interface counts only with
        # dont_track_primary (the merge below: add_vrrp_to_interface)
        if t.name != own or t.group is not None:
            entries.append((t.name, t.weight, t.reverse))
    if own:
        entries.append((own, _NOT_TRACKED if inst.dont_track_primary else 0, False))
        if vmac:
            entries.append((vmac, _NOT_TRACKED if inst.dont_track_primary else 0, False))
    for addr in tuple(inst.vips) + tuple(inst.evips):
        dev = addr.dev or vmac or own
        if dev and not addr.no_track and not (inst.dont_track_primary and dev in primary):
            entries.append((dev, 0, False))
    for route in inst.vroutes:
        if route.dev and not route.no_track:
            entries.append((route.dev, 0, False))
    for rule in inst.vrules:
        if not rule.no_track:
            for dev in (rule.iif, rule.oif):
                if dev:
                    entries.append((dev, 0, False))
    merged: dict[str, tuple] = {}
    for name, weight, reverse in entries:
        old = merged.get(name)
        if old is None or (old[0] != 0 and weight is not _NOT_TRACKED):
            merged[name] = (weight, reverse)
    return [TrackerSpec(Kind.INTERFACE, name, w, r) for name, (w, r) in merged.items()
            if w is not _NOT_TRACKED]


def instance_trackers(inst, *, skip_scripts: Iterable[str] = (), skip_files: Iterable[str] = (),
                      skip_processes: Iterable[str] = ()) -> list[TrackerSpec]:
    """Every tracker of a config model `VrrpInstance` (sync-group trackers are
    already in its lists).  `skip_*` name trackers that could not be set up
    (a script disabled by the security checks, a track file whose directory
    is missing): keepalived removes those from every instance."""
    skip_scripts, skip_files = set(skip_scripts), set(skip_files)
    skip_processes = set(skip_processes)
    specs = _interface_specs(inst)
    specs += [TrackerSpec(Kind.SCRIPT, t.name, t.weight, t.reverse)
              for t in inst.track_scripts if t.name not in skip_scripts]
    specs += [TrackerSpec(Kind.FILE, t.name, t.weight, t.reverse)
              for t in inst.track_files if t.name not in skip_files]
    specs += [TrackerSpec(Kind.PROCESS, t.name, t.weight, t.reverse)
              for t in inst.track_processes if t.name not in skip_processes]
    return merge_specs(specs)


__all__ = ["Contribution", "InstanceTracking", "Kind", "TrackerSpec", "TrackerStatus",
           "TrackingHub", "check_state", "contribution", "describe_state", "instance_trackers",
           "merge_specs"]
