"""The per-instance tracking aggregator (fastvrrp.track.aggregate).

Expected numbers come from keepalived-vrrp.md §3.2's table and §2.5's
track_file rules, written out by hand, never computed by the code under test.
"""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastvrrp.track.aggregate import (InstanceTracking, Kind, TrackerSpec, TrackingHub,
                                      contribution, merge_specs)
from fastvrrp.track.risefall import ScriptState
from fastvrrp.vrrp import (FaultCleared, FaultSet, InstanceParams, PriorityChanged, Startup, State,
                           VrrpMachine)

IF, SC, FI, PR = Kind.INTERFACE, Kind.SCRIPT, Kind.FILE, Kind.PROCESS
OK, KO, INIT = ScriptState.OK, ScriptState.KO, ScriptState.INIT


def spec(kind, name="t", weight=0, reverse=False):
    return TrackerSpec(kind, name, weight, reverse)


# ------------------------------------------------------------ the table (§3.2)

@pytest.mark.parametrize("kind,up,down", [(IF, True, False), (PR, True, False), (SC, OK, KO)])
@pytest.mark.parametrize("weight,reverse,when_up,when_down", [
    # weight  reverse  (contribution, fault) up   ... down
    (10, False, (10, False), (0, False)),
    (10, True, (-10, False), (0, False)),
    (-10, False, (0, False), (-10, False)),
    (-10, True, (0, False), (10, False)),
    (0, False, (0, False), (0, True)),
    (0, True, (0, True), (0, False)),
])
def test_contribution_table(kind, up, down, weight, reverse, when_up, when_down):
    s = spec(kind, weight=weight, reverse=reverse)
    got_up, got_down = contribution(s, up), contribution(s, down)
    assert (got_up.weight, got_up.fault) == when_up
    assert (got_down.weight, got_down.fault) == when_down
    assert not got_up.pending and not got_down.pending


def test_script_in_init_weighted_counts_nothing_unweighted_is_pending_fault():
    assert (contribution(spec(SC, weight=7), INIT).weight,
            contribution(spec(SC, weight=7), INIT).fault) == (0, False)
    assert (contribution(spec(SC, weight=-7), INIT).weight,
            contribution(spec(SC, weight=-7), INIT).fault) == (0, False)
    for reverse in (False, True):
        c = contribution(spec(SC, weight=0, reverse=reverse), INIT)
        assert (c.weight, c.fault, c.pending) == (0, True, True)


@pytest.mark.parametrize("weight,reverse,value,expected", [
    (1, False, 0, (0, False)),
    (1, False, 5, (5, False)),
    (5, False, 3, (15, False)),
    (5, False, 100, (253, False)),          # clamped to 253
    (2, True, 4, (-8, False)),              # reversed
    (5, False, -50, (-250, False)),
    (5, False, -51, (0, True)),             # -255 <= -254: FAULT
    (254, False, -1, (0, True)),            # exactly -254: FAULT
    (-2, False, 100, (-200, False)),
    (-3, False, 100, (0, True)),            # -300: FAULT
    (-2, True, 100, (200, False)),
    (0, False, 0, (0, False)),              # weight 0: zero is fine ...
    (0, False, 7, (0, True)),               # ... non-zero is FAULT
    (0, False, -1, (0, True)),
    (0, True, 0, (0, True)),                # reversed: zero is FAULT
    (0, True, 3, (0, False)),
    (3, False, 2 ** 31, (253, False)),      # huge values stay within the clamp
])
def test_track_file_value_times_weight(weight, reverse, value, expected):
    c = contribution(spec(FI, weight=weight, reverse=reverse), value)
    assert (c.weight, c.fault) == expected


@pytest.mark.parametrize("kind,state", [(IF, 1), (IF, "up"), (PR, None), (SC, True),
                                        (FI, True), (FI, 1.5), (FI, "3")])
def test_bad_states_are_refused_clearly(kind, state):
    with pytest.raises(ValueError, match=kind.value):
        contribution(spec(kind), state)


@pytest.mark.parametrize("args,match", [
    (("eth0", 0, False), "kind"),
    ((IF, "", 0, False), "name"),
    ((IF, "eth0", 255, False), "weight"),
    ((IF, "eth0", True, False), "weight"),
    ((IF, "eth0", 1, "yes"), "reverse"),
])
def test_bad_specs_are_refused_clearly(args, match):
    with pytest.raises(ValueError, match=match):
        TrackerSpec(*args)


# ------------------------------------------------------------ one instance

def tracking(specs, states, base=100):
    return InstanceTracking("VI_1", specs, states, base_priority=base)


def test_initial_events_bring_a_fresh_machine_to_the_state():
    specs = [spec(IF, "eth1", 10), spec(IF, "eth0", 0), spec(SC, "chk", 0),
             spec(FI, "f", 5), spec(PR, "nginx", -20)]
    t = tracking(specs, {(IF, "eth1"): True, (IF, "eth0"): False, (FI, "f"): 3,
                         (PR, "nginx"): False})          # chk: INIT by default
    assert t.weight_total == 10 + 15 - 20
    assert t.effective_priority == 105
    assert t.faults == {"track_interface eth0"}
    assert t.pending == {"track_script chk"}
    assert t.initial_events() == [PriorityChanged(5), FaultSet("track_interface eth0"),
                                  FaultSet("track_script chk", pending=True)]


def test_updates_emit_only_changes_in_order():
    t = tracking([spec(IF, "eth1", 10), spec(FI, "f", 5)], {(IF, "eth1"): True, (FI, "f"): 2})
    assert t.initial_events() == [PriorityChanged(20)]
    assert t.update(IF, "eth1", True) == []                  # no change
    assert t.update(IF, "eth9", False) == []                 # not ours
    assert t.update(IF, "eth1", False) == [PriorityChanged(10)]
    assert t.update(FI, "f", 2) == []
    # into FAULT: the fault first, then the total without the file
    assert t.update(FI, "f", -60) == [FaultSet("track_file f"), PriorityChanged(0)]
    assert t.update(FI, "f", -70) == []                      # still FAULT, nothing new
    # out of FAULT: the total first, then the fault cleared
    assert t.update(FI, "f", 4) == [PriorityChanged(20), FaultCleared("track_file f")]
    assert t.update(FI, "f", 0) == [PriorityChanged(0)]


def test_unweighted_script_pending_then_ok_or_ko():
    t = tracking([spec(SC, "a", 0), spec(SC, "b", 0), spec(SC, "c", 0, reverse=True)], {})
    assert t.pending == {"track_script a", "track_script b", "track_script c"}
    assert t.update(SC, "a", OK) == [FaultCleared("track_script a")]
    assert t.update(SC, "b", KO) == [FaultSet("track_script b")]     # pending becomes real
    assert t.update(SC, "c", KO) == [FaultCleared("track_script c")]  # reversed: KO is fine
    assert t.faults == {"track_script b"} and t.pending == frozenset()
    assert t.update(SC, "c", OK) == [FaultSet("track_script c")]


def test_weighted_script_leaving_init():
    t = tracking([spec(SC, "up", 4), spec(SC, "down", -6)], {})
    assert t.initial_events() == []
    assert t.update(SC, "up", KO) == []              # INIT -> KO: still 0 for w > 0
    assert t.update(SC, "down", OK) == []            # INIT -> OK: still 0 for w < 0
    assert t.update(SC, "up", OK) == [PriorityChanged(4)]
    assert t.update(SC, "down", KO) == [PriorityChanged(-2)]


def test_address_owner_never_gets_a_weight_but_still_faults():
    t = tracking([spec(IF, "eth1", 50), spec(IF, "eth0", 0)],
                 {(IF, "eth1"): True, (IF, "eth0"): True}, base=255)
    assert t.weight_total == 0 and t.effective_priority == 255
    assert t.initial_events() == []
    assert t.update(IF, "eth1", False) == []
    assert t.update(IF, "eth0", False) == [FaultSet("track_interface eth0")]
    assert [r.contribution for r in t.breakdown()] == [0, 0]


def test_effective_priority_is_clamped_1_to_254():
    t = tracking([spec(IF, "a", 200), spec(IF, "b", -200)], {(IF, "a"): True, (IF, "b"): True})
    assert t.effective_priority == 254
    t.update(IF, "a", False)
    t.update(IF, "b", False)
    assert t.weight_total == -200 and t.effective_priority == 1


def test_breakdown_rows_for_the_status_api():
    t = tracking([spec(IF, "eth1", 10, True), spec(SC, "chk", 0), spec(FI, "f", 3),
                  spec(PR, "nginx", 0)],
                 {(IF, "eth1"): True, (FI, "f"): -2, (PR, "nginx"): False})
    rows = [r.as_dict() for r in t.breakdown()]
    assert rows == [
        {"kind": "track_interface", "name": "eth1", "state": "up", "weight": 10,
         "reverse": True, "contribution": -10, "fault": False, "pending": False},
        {"kind": "track_script", "name": "chk", "state": "INIT", "weight": 0,
         "reverse": False, "contribution": 0, "fault": True, "pending": True},
        {"kind": "track_file", "name": "f", "state": -2, "weight": 3,
         "reverse": False, "contribution": -6, "fault": False, "pending": False},
        {"kind": "track_process", "name": "nginx", "state": "down", "weight": 0,
         "reverse": False, "contribution": 0, "fault": True, "pending": False},
    ]


def test_missing_state_and_bad_instance_are_refused():
    with pytest.raises(ValueError, match="no state known for track_interface eth1"):
        tracking([spec(IF, "eth1", 10)], {})
    with pytest.raises(ValueError, match="base priority"):
        tracking([], {}, base=0)
    with pytest.raises(ValueError, match="instance name"):
        InstanceTracking("", [], {})


def test_duplicates_merge_as_keepalived_does():
    merged = merge_specs([spec(IF, "eth1", 10), spec(IF, "eth1", 20, True),   # later weight wins
                          spec(IF, "eth2", 0, True), spec(IF, "eth2", 5),      # unweighted stays
                          spec(IF, "eth3", 5), spec(IF, "eth3", 0),            # unweighted wins
                          spec(FI, "eth1", 2)])                                # another kind
    assert merged == [spec(IF, "eth1", 20, True), spec(IF, "eth2", 0, True), spec(IF, "eth3", 0),
                      spec(FI, "eth1", 2)]


# ------------------------------------------------------------ into the machine

def test_events_drive_the_state_machine():
    machine = VrrpMachine(InstanceParams(name="VI_1", vrid=51, priority=100,
                                         vips=(ipaddress.ip_address("10.0.0.100"),)))
    t = tracking([spec(IF, "eth1", 10), spec(SC, "chk", 0)], {(IF, "eth1"): True})
    now = 1_000_000_000
    for event in t.initial_events():
        machine.handle(now, event)
    machine.handle(now, Startup())
    assert machine.state is State.FAULT               # the silent pseudo-FAULT (init)
    assert machine.effective_priority == 110
    for event in t.update(SC, "chk", OK):
        machine.handle(now, event)
    assert machine.state is State.BACKUP
    for event in t.update(IF, "eth1", False):
        machine.handle(now, event)
    assert machine.effective_priority == 100
    for event in t.update(SC, "chk", KO):
        machine.handle(now, event)
    assert machine.state is State.FAULT


# ------------------------------------------------------------ the hub

def test_hub_fans_a_change_out_to_every_user():
    seen = []
    hub = TrackingHub(emit=lambda inst, ev: seen.append((inst, ev)))
    hub.set_state(IF, "eth1", True)
    hub.set_state(PR, "nginx", True)
    a = hub.add_instance("A", [spec(IF, "eth1", 10)])
    b = hub.add_instance("B", [spec(IF, "eth1", 0), spec(PR, "nginx", -5)], base_priority=90)
    assert a.weight_total == 10 and b.weight_total == 0
    assert set(hub.names(IF)) == {"eth1"} and hub.names(FI) == ()
    out = hub.set_state(IF, "eth1", False)
    assert out == [("A", PriorityChanged(0)), ("B", FaultSet("track_interface eth1"))]
    assert seen == out
    hub.callback(PR)("nginx", True, False)
    assert seen[-1] == ("B", PriorityChanged(-5))
    hub.remove_instance("A")
    assert hub.set_state(IF, "eth1", True) == [("B", FaultCleared("track_interface eth1"))]
    with pytest.raises(ValueError, match="already tracked"):
        hub.add_instance("B", [])
    with pytest.raises(ValueError, match="track_file state"):
        hub.set_state(FI, "f", "7")
    with pytest.raises(KeyError, match="not tracked"):
        hub.instance("A")


# ------------------------------------------------------------ properties

_SPECS = [spec(IF, "eth1", 10), spec(IF, "eth2", -20, True), spec(IF, "eth0", 0),
          spec(SC, "s1", 0), spec(SC, "s2", 5, True), spec(FI, "f1", 5), spec(FI, "f0", 0, True),
          spec(PR, "p1", -7), spec(PR, "p0", 0, True)]


def _state_strategy(kind):
    if kind is SC:
        return st.sampled_from([INIT, OK, KO])
    if kind is FI:
        return st.integers(-300, 300)
    return st.booleans()


def _updates():
    return st.lists(st.sampled_from(_SPECS).flatmap(
        lambda s: _state_strategy(s.kind).map(lambda v, s=s: (s, v))), max_size=40)


def _check_stream(base, updates):
    t = tracking(_SPECS, {s.key: (0 if s.kind is FI else True) for s in _SPECS
                          if s.kind is not SC}, base=base)
    total, faults = 0, {}

    def apply(events):
        nonlocal total
        for ev in events:
            if isinstance(ev, PriorityChanged):
                assert ev.weight_total != total          # only changes are reported
                total = ev.weight_total
            elif isinstance(ev, FaultSet):
                assert faults.get(ev.reason) != ev.pending
                faults[ev.reason] = ev.pending
            else:
                assert ev.reason in faults
                del faults[ev.reason]

    apply(t.initial_events())
    states = {s.key: (0 if s.kind is FI else INIT if s.kind is SC else True) for s in _SPECS}
    for s, value in updates:
        apply(t.update(s.kind, s.name, value))
        states[s.key] = value
        expected = 0 if base == 255 else sum(contribution(x, states[x.key]).weight
                                             for x in _SPECS)
        assert total == t.weight_total == expected
        assert {r for r, p in faults.items() if not p} == t.faults
        assert {r for r, p in faults.items() if p} == t.pending


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([100, 255]), _updates())
def test_event_stream_reproduces_the_state(base, updates):
    """Whatever the order of changes, feeding the emitted events to a fresh
    machine's bookkeeping gives the aggregator's total, faults and pending
    reasons, and every event changes something."""
    _check_stream(base, updates)
