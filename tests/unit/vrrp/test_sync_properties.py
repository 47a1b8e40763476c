"""Random member events through a SyncGroup (hypothesis).

After every event the group has settled (it answers within the same call),
so these hold at every step (keepalived-vrrp.md §3.15):
- no member is MASTER while another is BACKUP or FAULT;
- a member with a fault of its own, or a tracker not reported yet, means
  every member is in FAULT;
- when the group says MASTER, BACKUP or FAULT, every member is in it;
- the group never notifies the same state twice in a row.
And once every fault is gone and no other router speaks, the group reaches
MASTER.
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from sync_harness import S, GroupDriver, ip, member, states

from fastvrrp.vrrp import (AdvertReceived, FaultCleared, FaultSet, GroupNotify, PriorityChanged,
                           State, SyncGroup)

OURS = ip("10.0.0.50")
HIGH, LOW = ip("10.0.0.60"), ip("10.0.0.40")      # tie-break above / below our address
REASONS = ("track_interface eth0", "track_script chk")

member_spec = st.tuples(st.sampled_from((255, 200, 100, 50)),
                        st.sampled_from((None, State.MASTER, State.BACKUP)))
pre_fault = st.tuples(st.integers(0, 2), st.sampled_from(REASONS), st.booleans())
step = st.one_of(
    st.tuples(st.just("timer")),
    st.tuples(st.just("advert"), st.integers(0, 2), st.integers(0, 255), st.booleans()),
    st.tuples(st.just("fault"), st.integers(0, 2), st.sampled_from(REASONS)),
    st.tuples(st.just("clear"), st.integers(0, 2), st.sampled_from(REASONS)),
    st.tuples(st.just("weight"), st.integers(0, 2), st.integers(-60, 60)),
)


def build(specs):
    return SyncGroup("G", [member("VI_%d" % (i + 1), i + 1, priority, initial_state=state,
                                  primary_address=OURS)
                           for i, (priority, state) in enumerate(specs)])


def check(d, last_group_notify):
    g = d.group
    st_ = states(g)
    values = set(st_.values())
    assert not (State.MASTER in values and values & {State.BACKUP, State.FAULT}), st_
    if any(g.machine(n).faults for n in g.members):
        assert values == {State.FAULT}, st_
    if g.state in (State.MASTER, State.BACKUP, State.FAULT):
        assert values == {g.state}, (g.state, st_)
    for r in d.out[last_group_notify[0]:]:
        if isinstance(r.action, GroupNotify):
            assert r.action.state != last_group_notify[1], d.out
            last_group_notify[1] = r.action.state
    last_group_notify[0] = len(d.out)


def apply(d, s, names):
    kind = s[0]
    if kind == "timer":
        nxt = d.next_timer()
        if nxt is not None:
            d.fire(*nxt[0])
        return
    name = names[s[1] % len(names)]
    now = d.now + 10_000_000
    if kind == "advert":
        vip = d.group.machine(name).params.vips
        d.feed(now, name, AdvertReceived(HIGH if s[3] else LOW, s[2], 1, vip))
    elif kind == "fault":
        d.feed(now, name, FaultSet(s[2]))
    elif kind == "clear":
        d.feed(now, name, FaultCleared(s[2]))
    else:
        d.feed(now, name, PriorityChanged(s[2]))


@settings(max_examples=300, deadline=None)
@given(specs=st.lists(member_spec, min_size=2, max_size=3), faults=st.lists(pre_fault, max_size=3),
       steps=st.lists(step, max_size=40))
def test_random_member_events_keep_the_group_together(specs, faults, steps):
    g = build(specs)
    d = GroupDriver(g)
    names = g.members
    for idx, reason, pending in faults:
        d.feed(0, names[idx % len(names)], FaultSet(reason, pending=pending))
    d.start(0)
    seen = [0, None]
    check(d, seen)
    for s in steps:
        apply(d, s, names)
        check(d, seen)

    # every fault goes away and only timers run: the group comes up as MASTER
    for name in names:
        for reason in REASONS:
            d.feed(d.now + 1, name, FaultCleared(reason))
            check(d, seen)
    for _ in range(60):
        if g.state == State.MASTER:
            break
        d.fire(*d.next_timer()[0])
        check(d, seen)
    assert g.state == State.MASTER, (states(g), d.out[-20:])
    assert d.now < 1000 * S
