"""The compiled wheel's C level: its divide-free tick arithmetic, the
fixed-buffer C advance (wheel_advance) and the structural invariants under
churn.  These reach into fastvrrp._wheel's test helpers, so they run on the
compiled module only; behaviour shared with the reference twin is tested in
test_wheel.py and test_wheel_model.py."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from fastvrrp import _wheel
from fastvrrp.reference import wheel as reference
from tests.twins import assert_compiled

MS = 1_000_000
INT64_MAX = 2**63 - 1


def test_compiled_wheel_is_built():
    assert_compiled("fastvrrp._wheel")


def test_a_timer_takes_32_bytes():
    assert _wheel.NODE_BYTES == 32


interesting_ticks = st.one_of(
    st.integers(1, INT64_MAX),
    st.integers(0, 62).flatmap(lambda k: st.sampled_from(
        [max(1, (1 << k) - 1), 1 << k, (1 << k) + 1])),
    st.sampled_from([1_000_000, 10_000_000, 999_999_937, INT64_MAX]),
)
interesting_deadlines = st.one_of(
    st.integers(0, INT64_MAX),
    st.sampled_from([0, 1, INT64_MAX, INT64_MAX - 1, 2**62, 2**62 - 1]),
)


@settings(max_examples=2000, deadline=None)
@given(tick=interesting_ticks, deadline=interesting_deadlines)
def test_tick_division_without_a_divide_is_exact(tick, deadline):
    assert _wheel._tick_div(tick, deadline) == deadline // tick
    near = deadline - deadline % tick        # the tick boundaries around it
    assert _wheel._tick_div(tick, near) == near // tick
    if near:
        assert _wheel._tick_div(tick, near - 1) == (near - 1) // tick


def test_fixed_buffer_advance_matches_the_limited_python_advance():
    rnd = random.Random(7)
    c = _wheel.Wheel(tick_ns=MS, capacity=0)
    r = reference.Wheel(tick_ns=MS, capacity=0)
    handles = []
    now = 0
    for step in range(4000):
        action = rnd.random()
        if action < 0.5:
            deadline = max(0, now + rnd.randrange(-2 * MS, 300 * MS))
            handles.append(c.schedule(deadline, step))
            assert r.schedule(deadline, step) == handles[-1]
        elif action < 0.7 and handles:
            h, deadline = rnd.choice(handles), now + rnd.randrange(0, 300 * MS)
            assert c.reschedule(h, deadline) == r.reschedule(h, deadline)
        else:
            now += rnd.randrange(0, 20 * MS)
            cap = rnd.choice([1, 2, 5, 64])
            got = _wheel._advance_capped(c, now, cap)
            assert got == r.advance(now, limit=cap)
            assert len(got) <= cap
        assert c.now_ns == r.now_ns
        assert c.next_deadline() == r.next_deadline()
    _wheel._check_invariants(c)


def test_structure_stays_consistent_under_churn():
    """Every list in use, growth, cascades from every level, lazy moves."""
    rnd = random.Random(13)
    w = _wheel.Wheel(tick_ns=1, capacity=0)
    handles = [w.schedule(rnd.randrange(0, 1 << rnd.randrange(1, 63)), i) for i in range(20000)]
    _wheel._check_invariants(w)
    now = 0
    for round_ in range(40):
        for _ in range(2000):
            h = rnd.choice(handles)
            if rnd.random() < 0.8:
                w.reschedule(h, now + rnd.randrange(0, 1 << rnd.randrange(1, 62)))
            else:
                w.cancel(h)
                handles.append(w.schedule(now + rnd.randrange(0, 1 << 40), round_))
        now += 1 << rnd.randrange(0, 63 - round_ // 4 - 8)
        expired = w.advance(now)
        w.next_deadline()
        _wheel._check_invariants(w)
        assert all(w.deadline(h) is None or w.deadline(h) > now for h in handles)
        assert len(expired) + len(w) <= len(handles)
    w.advance(INT64_MAX)
    assert len(w) == 0
    _wheel._check_invariants(w)


def test_benchmark_helpers_run_the_wheel():
    # Each helper drives the C API in a loop; _bench_expire checks that every
    # timer expired exactly once.
    assert _wheel._bench_expire(5000, 50 * MS, MS) > 0
    assert _wheel._bench_reschedule(1000, 10000) > 0
    assert _wheel._bench_rearm(100, 10000) > 0
    assert _wheel._bench_schedule_cancel(1000, 10000) > 0
