"""Differential test: random schedule/cancel/reschedule/advance sequences run
on the compiled wheel, the reference twin and a trivially correct heapq model.

The contract checked after every step, against the model:
* advance(now, limit) returns exactly the payloads with deadline <= max(now,
  clock), in (deadline, schedule sequence) order, at most `limit` of them;
  a reschedule is a new schedule for the tie-break;
* next_deadline() is EXACTLY the earliest pending deadline (None if empty);
* len() is the number of pending timers; now_ns is the clock: max(clock,
  now) after a complete advance, max(clock, D - 1) after one stopped by its
  limit with D the first deadline left due;
* cancel/reschedule/deadline of a stale or never-issued handle are no-ops
  (False/None); of a live one, True/the deadline;
and the two twins return identical handles.
"""

import heapq

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastvrrp import _wheel as compiled
from fastvrrp.reference import wheel as reference
from tests.twins import assert_compiled

INT64_MAX = 2**63 - 1


def test_compiled_wheel_is_built():
    assert_compiled("fastvrrp._wheel")


class HeapModel:
    """A heap of (deadline, seq, key) with lazy deletion; keys are the
    indices of the test's schedule calls."""

    def __init__(self):
        self.heap = []
        self.live = {}          # key -> (deadline, seq, data)
        self.seq = 0
        self.clock = 0

    def schedule(self, key, deadline, data):
        self.seq += 1
        self.live[key] = (deadline, self.seq, data)
        heapq.heappush(self.heap, (deadline, self.seq, key))

    def cancel(self, key):
        return self.live.pop(key, None) is not None

    def reschedule(self, key, deadline):
        if key not in self.live:
            return False
        self.schedule(key, deadline, self.live[key][2])
        return True

    def deadline(self, key):
        entry = self.live.get(key)
        return None if entry is None else entry[0]

    def _top(self):
        while self.heap:
            deadline, seq, key = self.heap[0]
            entry = self.live.get(key)
            if entry is not None and entry[1] == seq:
                return self.heap[0]
            heapq.heappop(self.heap)
        return None

    def next_deadline(self):
        top = self._top()
        return None if top is None else top[0]

    def advance(self, now, limit):
        now = max(now, self.clock)
        out = []
        while (top := self._top()) is not None and top[0] <= now:
            if limit is not None and len(out) == limit:
                self.clock = max(self.clock, top[0] - 1)
                return out
            heapq.heappop(self.heap)
            out.append(self.live.pop(top[2])[2])
        self.clock = now
        return out

    def clear(self):
        self.live.clear()
        self.heap.clear()


# A time is drawn relative to the model's clock when the step runs.
times = st.one_of(
    st.tuples(st.just("near"), st.integers(-3, 300)),        # in ticks from the clock
    st.tuples(st.just("pool"), st.integers(0, 5)),           # a few shared values: ties
    st.tuples(st.just("levels"), st.integers(0, 62)),        # clock + 2**k ticks
    st.tuples(st.just("abs"), st.integers(0, INT64_MAX)),    # anywhere, past included
    st.tuples(st.just("same"), st.integers(0, 10**6)),       # a pending timer's deadline
)
handle_picks = st.one_of(
    st.tuples(st.just("issued"), st.integers(0, 10**6)),     # any issued one, maybe stale
    st.tuples(st.just("forged"), st.integers(0, 2**31 - 1)),
)
operations = st.lists(st.one_of(
    st.tuples(st.just("schedule"), times, st.integers(0, 2**64 - 1)),
    st.tuples(st.just("schedule"), times, st.integers(0, 2**64 - 1)),
    st.tuples(st.just("reschedule"), handle_picks, times),
    st.tuples(st.just("reschedule"), handle_picks, times),
    st.tuples(st.just("cancel"), handle_picks),
    st.tuples(st.just("advance"), times, st.one_of(st.none(), st.integers(0, 4))),
    st.tuples(st.just("advance"), times, st.none()),
    st.tuples(st.just("deadline"), handle_picks),
    st.tuples(st.just("clear")),
), min_size=10, max_size=150)


def resolve(spec, model, tick):
    kind, value = spec
    clock = model.clock
    if kind == "same":
        pending = sorted(entry[0] for entry in model.live.values())
        t = pending[value % len(pending)] if pending else clock
    elif kind == "near":
        t = clock + value * tick + (value * 7919) % tick
    elif kind == "pool":
        t = [0, clock, clock + 1, clock + tick, clock + 64 * tick, 2**40][value]
    elif kind == "levels":
        t = clock + (1 << value) * tick
    else:
        t = value
    return min(max(t, 0), INT64_MAX)


def pick(spec, issued):
    """(handle, model key): an issued handle (maybe stale by now), or one that
    was never issued -- an even generation, or an index beyond 2**31."""
    kind, value = spec
    if kind == "issued" and issued:
        return issued[value % len(issued)]
    if value % 2:
        return ((value % 64) * 2 << 32) | value, None
    return ((value % 7) * 2 + 1 << 32) | (0x80000000 + value), None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tick=st.sampled_from([1, 3, 64, 1000, 1_000_000]), ops=operations)
def test_twins_match_a_heap_model(tick, ops):
    wheels = [compiled.Wheel(tick_ns=tick, capacity=0), reference.Wheel(tick_ns=tick, capacity=0)]
    model = HeapModel()
    issued = []          # (handle, model key) per schedule call, in order
    for op in ops:
        name = op[0]
        if name == "schedule":
            deadline = resolve(op[1], model, tick)
            handles = [w.schedule(deadline, op[2]) for w in wheels]
            assert handles[0] == handles[1]
            model.schedule(len(issued), deadline, op[2])
            issued.append((handles[0], len(issued)))
        elif name in ("reschedule", "cancel", "deadline"):
            handle, key = pick(op[1], issued)
            if name == "reschedule":
                deadline = resolve(op[2], model, tick)
                results = [w.reschedule(handle, deadline) for w in wheels]
                expected = model.reschedule(key, deadline)
            elif name == "cancel":
                results = [w.cancel(handle) for w in wheels]
                expected = model.cancel(key)
            else:
                results = [w.deadline(handle) for w in wheels]
                expected = model.deadline(key)
            assert results == [expected, expected], (name, handle)
        elif name == "advance":
            now, limit = resolve(op[1], model, tick), op[2]
            results = [w.advance(now, limit) for w in wheels]
            expected = model.advance(now, limit)
            assert results == [expected, expected], (now, limit)
        else:
            for w in wheels:
                w.clear()
            model.clear()
        compiled._check_invariants(wheels[0])
        expected_next = model.next_deadline()
        assert [w.next_deadline() for w in wheels] == [expected_next, expected_next]
        compiled._check_invariants(wheels[0])       # next_deadline may re-place
        assert [len(w) for w in wheels] == [len(model.live)] * 2
        assert [w.now_ns for w in wheels] == [model.clock] * 2
        assert wheels[0].capacity == wheels[1].capacity
    # Draining the rest at the end of time gives the model's order too.
    expected = model.advance(INT64_MAX, None)
    assert [w.advance(INT64_MAX) for w in wheels] == [expected, expected]
    assert [len(w) for w in wheels] == [0, 0]
    compiled._check_invariants(wheels[0])
