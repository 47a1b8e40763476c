"""Timer wheel behaviour: every test body runs against the compiled wheel and
its pure-Python twin (ids `compiled` / `reference`)."""

import random

import pytest

from tests.twins import assert_compiled, twin_fixture

wheel = twin_fixture("fastvrrp._wheel", "fastvrrp.reference.wheel")

MS = 1_000_000
SEC = 1_000_000_000
INT64_MAX = 2**63 - 1


def test_compiled_wheel_is_built():
    assert_compiled("fastvrrp._wheel")


def expected_order(timers):
    """Payloads of (deadline, data) pairs scheduled in list order, sorted the
    way the wheel must expire them: by deadline, then schedule order."""
    return [data for _, _, data in sorted((d, i, data) for i, (d, data) in enumerate(timers))]


# -- order ------------------------------------------------------------------

def test_expires_in_deadline_order(wheel):
    w = wheel.Wheel()
    timers = [(5 * MS, 50), (1 * MS + 7, 10), (3 * MS, 30), (1 * MS, 11), (64 * MS, 64)]
    for deadline, data in timers:
        w.schedule(deadline, data)
    assert w.advance(100 * MS) == [11, 10, 30, 50, 64]
    assert len(w) == 0


def test_equal_deadlines_expire_in_schedule_order(wheel):
    w = wheel.Wheel()
    for data in (7, 3, 9, 1):
        w.schedule(2 * MS, data)
    w.schedule(2 * MS - 1, 100)
    assert w.advance(2 * MS) == [100, 7, 3, 9, 1]


def test_reschedule_is_a_new_schedule_for_ties(wheel):
    w = wheel.Wheel()
    first = w.schedule(5 * MS, 1)
    w.schedule(5 * MS, 2)
    w.schedule(5 * MS, 3)
    assert w.reschedule(first, 5 * MS)
    assert w.advance(5 * MS) == [2, 3, 1]


def test_advance_expires_exactly_up_to_now_inside_a_tick(wheel):
    w = wheel.Wheel(tick_ns=MS)
    for offset in (900, 100, 500, 501):
        w.schedule(7 * MS + offset, offset)
    assert w.advance(7 * MS + 99) == []
    assert w.advance(7 * MS + 500) == [100, 500]
    assert w.next_deadline() == 7 * MS + 501
    w.schedule(7 * MS + 700, 700)
    assert w.advance(7 * MS + 700) == [501, 700]
    assert w.advance(8 * MS) == [900]


def test_random_deadlines_expire_in_order_over_many_advances(wheel):
    rnd = random.Random(5)
    w = wheel.Wheel(tick_ns=MS)
    timers = [(rnd.randrange(0, 3 * SEC), i) for i in range(3000)]
    for deadline, data in timers:
        w.schedule(deadline, data)
    got, now = [], 0
    while len(w):
        now += rnd.randrange(1, 40 * MS)
        batch = w.advance(now)
        assert all(timers[data][0] <= now for data in batch)
        got += batch
        nxt = w.next_deadline()
        assert nxt is None or nxt > now
    assert got == expected_order(timers)


# -- cancel and reschedule --------------------------------------------------

def test_cancel(wheel):
    w = wheel.Wheel()
    keep = w.schedule(3 * MS, 1)
    drop = w.schedule(2 * MS, 2)
    assert len(w) == 2
    assert w.cancel(drop) is True
    assert w.cancel(drop) is False
    assert len(w) == 1
    assert w.next_deadline() == 3 * MS
    assert w.advance(10 * MS) == [1]
    assert w.cancel(keep) is False


@pytest.mark.parametrize("old, new", [
    (10 * MS, 20 * MS),            # later, same level
    (10 * MS, 5 * SEC),            # later, across levels
    (5 * SEC, 10 * MS),            # earlier, across levels
    (70 * MS, 65 * MS),            # earlier, inside one level-1 slot
    (3 * MS, 3 * MS),              # same deadline
])
def test_reschedule_moves_the_deadline(wheel, old, new):
    w = wheel.Wheel()
    other = w.schedule(30 * MS, 99)
    handle = w.schedule(old, 1)
    assert w.reschedule(handle, new) is True
    assert w.deadline(handle) == new
    assert w.next_deadline() == min(new, 30 * MS)
    assert w.advance(new - 1) == ([99] if new > 30 * MS else [])
    assert w.advance(new) == ([1] if new > 30 * MS else [1] if new < 30 * MS else [99, 1])
    assert w.cancel(other) is (new < 30 * MS)


def test_reschedule_later_repeatedly_like_a_backup_hearing_its_master(wheel):
    """RFC 5798 §6.4.2: every advert pushes Master_Down_Timer out again; it
    expires only once the adverts stop."""
    w = wheel.Wheel()
    down = 3 * 10 * MS + 6 * MS
    handle = w.schedule(down, 42)
    now = 0
    for _ in range(500):
        now += 10 * MS
        assert w.advance(now) == []
        assert w.reschedule(handle, now + down)
        assert w.next_deadline() == now + down
    assert w.advance(now + down - 1) == []
    assert w.advance(now + down) == [42]


def test_next_deadline_follows_the_minimum_when_it_moves(wheel):
    w = wheel.Wheel()
    handles = [w.schedule(100 * MS + i, i) for i in range(5)]
    w.schedule(300 * MS, 9)
    assert w.next_deadline() == 100 * MS
    w.reschedule(handles[0], 200 * MS)
    assert w.next_deadline() == 100 * MS + 1
    for h in handles[1:]:
        w.reschedule(h, 250 * MS)
    assert w.next_deadline() == 200 * MS
    w.cancel(handles[0])
    assert w.next_deadline() == 250 * MS
    w.reschedule(handles[3], 1 * MS)
    assert w.next_deadline() == 1 * MS


# -- handles ----------------------------------------------------------------

def test_stale_handle_after_cancel(wheel):
    w = wheel.Wheel()
    h = w.schedule(5 * MS, 1)
    assert w.cancel(h)
    assert w.reschedule(h, 1 * MS) is False
    assert w.deadline(h) is None
    assert w.advance(10 * MS) == []


def test_stale_handle_after_expiry(wheel):
    w = wheel.Wheel()
    h = w.schedule(5 * MS, 1)
    assert w.advance(5 * MS) == [1]
    assert w.cancel(h) is False
    assert w.reschedule(h, 9 * MS) is False
    assert w.deadline(h) is None
    assert w.next_deadline() is None


def test_stale_handle_does_not_touch_the_timer_reusing_its_storage(wheel):
    w = wheel.Wheel(capacity=1)
    old = w.schedule(5 * MS, 1)
    assert w.cancel(old)
    new = w.schedule(7 * MS, 2)
    assert new != old
    assert new & 0xFFFFFFFF == old & 0xFFFFFFFF    # the storage slot was reused
    assert w.cancel(old) is False
    assert w.reschedule(old, 1 * MS) is False
    assert w.deadline(old) is None
    assert w.deadline(new) == 7 * MS
    assert len(w) == 1
    assert w.advance(6 * MS) == []
    assert w.advance(7 * MS) == [2]


def test_handles_that_were_never_issued_are_rejected(wheel):
    w = wheel.Wheel()
    h = w.schedule(5 * MS, 1)
    gen, idx = h >> 32, h & 0xFFFFFFFF
    for forged in (0, idx, ((gen + 1) << 32) | idx, ((gen + 2) << 32) | idx,
                   (gen << 32) | (idx + 1), (gen << 32) | 0xFFFFFFFF, 2**64 - 1):
        assert w.cancel(forged) is False
        assert w.reschedule(forged, 1) is False
        assert w.deadline(forged) is None
    assert w.advance(5 * MS) == [1]


def test_handle_keeps_its_identity_on_reschedule(wheel):
    w = wheel.Wheel()
    h = w.schedule(5 * MS, 1)
    for deadline in (9 * MS, 2 * SEC, 1 * MS, 0):
        assert w.reschedule(h, deadline)
        assert w.deadline(h) == deadline
    assert w.cancel(h)


# -- time -------------------------------------------------------------------

@pytest.mark.parametrize("tick_ns", [1, 7, MS, 1 << 20])
def test_far_future_deadlines_cascade_down_and_expire_exactly(wheel, tick_ns):
    w = wheel.Wheel(tick_ns=tick_ns)
    deadlines = [INT64_MAX, INT64_MAX - 1, 2**62 + 12345, 86_400 * SEC * 3 + 17,
                 4096 * tick_ns + 1, 64 * tick_ns, 63 * tick_ns + tick_ns - 1, 2**40 + 5]
    for i, deadline in enumerate(deadlines):
        w.schedule(deadline, i)
    order = sorted(range(len(deadlines)), key=lambda i: deadlines[i])
    for i in order:
        assert w.next_deadline() == deadlines[i]
        assert w.advance(deadlines[i] - 1) == []
        assert w.advance(deadlines[i]) == [i]
    assert len(w) == 0 and w.next_deadline() is None


def test_one_big_jump_expires_everything_in_order(wheel):
    rnd = random.Random(11)
    w = wheel.Wheel()
    timers = [(rnd.choice([rnd.randrange(0, 10 * SEC), rnd.randrange(0, 2**62)]), i)
              for i in range(2000)]
    for deadline, data in timers:
        w.schedule(deadline, data)
    assert w.advance(INT64_MAX) == expected_order(timers)
    assert w.now_ns == INT64_MAX
    # The wheel keeps working at the end of time.
    w.schedule(INT64_MAX, 1)
    assert w.advance(INT64_MAX) == [1]


def test_jump_over_empty_time_then_keep_going(wheel):
    w = wheel.Wheel()
    w.advance(40 * 86_400 * SEC)
    now = w.now_ns
    w.schedule(now + 1, 1)
    w.schedule(now + 70 * MS, 2)
    w.schedule(now + 5 * SEC, 3)
    assert w.advance(now + 69 * MS) == [1]
    assert w.advance(now + 5 * SEC) == [2, 3]


def test_past_deadlines_expire_on_the_next_advance(wheel):
    w = wheel.Wheel()
    w.advance(50 * MS)
    w.schedule(60 * MS, 6)
    w.schedule(50 * MS, 5)
    w.schedule(0, 0)
    w.schedule(49 * MS + 1, 4)
    assert w.next_deadline() == 0
    # An older `now` counts as the wheel's clock: the past ones still expire.
    assert w.advance(10 * MS) == [0, 4, 5]
    assert w.now_ns == 50 * MS
    assert w.advance(60 * MS) == [6]


def test_reschedule_into_the_past_and_back(wheel):
    w = wheel.Wheel()
    w.advance(20 * MS)
    a = w.schedule(30 * MS, 1)
    b = w.schedule(25 * MS, 2)
    assert w.reschedule(a, 5 * MS)           # before the clock: due now
    assert w.next_deadline() == 5 * MS
    assert w.reschedule(a, 40 * MS)          # and out again
    assert w.next_deadline() == 25 * MS
    assert w.advance(39 * MS) == [2]
    assert w.reschedule(b, 0) is False
    assert w.advance(40 * MS) == [1]


def test_clock_never_goes_back(wheel):
    w = wheel.Wheel()
    assert w.now_ns == 0
    w.advance(10 * MS)
    w.advance(3 * MS)
    assert w.now_ns == 10 * MS


# -- limit ------------------------------------------------------------------

def test_limited_advances_give_the_same_order(wheel):
    rnd = random.Random(3)
    w = wheel.Wheel()
    timers = [(rnd.choice([5 * MS, rnd.randrange(0, 200 * MS)]), i) for i in range(500)]
    for deadline, data in timers:
        w.schedule(deadline, data)
    got = []
    while True:
        batch = w.advance(300 * MS, limit=7)
        got += batch
        if len(batch) < 7:
            break
    assert got == expected_order(timers)
    assert w.now_ns == 300 * MS


def test_limited_advance_keeps_order_with_schedules_in_between(wheel):
    w = wheel.Wheel()
    for data, deadline in enumerate([10 * MS, 20 * MS, 20 * MS, 30 * MS]):
        w.schedule(deadline, data)
    assert w.advance(40 * MS, limit=1) == [0]
    # The clock stops just before the first timer left due (20 ms).
    assert w.now_ns == 20 * MS - 1
    w.schedule(15 * MS, 10)        # before what is left: comes out first
    w.schedule(20 * MS, 11)        # ties with what is left: after it
    assert w.advance(40 * MS) == [10, 1, 2, 11, 3]
    assert w.advance(40 * MS, limit=0) == []


# -- storage ----------------------------------------------------------------

def test_grows_past_its_initial_capacity(wheel):
    w = wheel.Wheel(capacity=0)
    timers = [((i * 7919) % 5000 * MS // 10, i) for i in range(5000)]
    handles = [w.schedule(d, data) for d, data in timers]
    assert len(set(handles)) == len(handles)
    assert w.capacity >= 5000
    assert len(w) == 5000
    assert w.advance(INT64_MAX) == expected_order(timers)


def test_a_million_timers_expire_once_in_order(wheel, request):
    # The reference twin runs 100,000 (a million Python-level schedules alone
    # take several seconds); the compiled wheel runs 1,000,000.
    n = 1_000_000 if request.node.callspec.id == "compiled" else 100_000
    w = wheel.Wheel()
    rnd = random.Random(1)
    deadlines = [rnd.randrange(0, 2 * SEC) for _ in range(n)]
    for i, deadline in enumerate(deadlines):
        w.schedule(deadline, i)
    assert len(w) == n
    got = []
    for now in range(SEC // 4, 2 * SEC + 1, SEC // 4):
        got += w.advance(now)
    assert len(got) == n
    assert got == sorted(range(n), key=deadlines.__getitem__)   # stable: ties by i
    assert len(w) == 0 and w.next_deadline() is None


def test_clear(wheel):
    w = wheel.Wheel()
    handles = [w.schedule(i * MS, i) for i in range(10)]
    w.clear()
    assert len(w) == 0 and w.next_deadline() is None
    assert not any(w.cancel(h) for h in handles)
    w.schedule(3 * MS, 3)
    assert w.advance(10 * MS) == [3]


def test_payloads_are_uint64(wheel):
    w = wheel.Wheel()
    for data in (0, 1, 2**63, 2**64 - 1):
        w.schedule(1, data)
    assert w.advance(1) == [0, 1, 2**63, 2**64 - 1]


# -- bad input --------------------------------------------------------------

@pytest.mark.parametrize("call, error", [
    (lambda w: w.schedule(-1), ValueError),
    (lambda w: w.schedule(2**63), OverflowError),
    (lambda w: w.schedule(1.5), TypeError),
    (lambda w: w.schedule("1"), TypeError),
    (lambda w: w.schedule(1, -1), OverflowError),
    (lambda w: w.schedule(1, 2**64), OverflowError),
    (lambda w: w.schedule(1, 2.0), TypeError),
    (lambda w: w.cancel(-1), OverflowError),
    (lambda w: w.cancel(None), TypeError),
    (lambda w: w.reschedule(1, -5), ValueError),
    (lambda w: w.reschedule(1.0, 5), TypeError),
    (lambda w: w.deadline(2**64), OverflowError),
    (lambda w: w.advance(-1), ValueError),
    (lambda w: w.advance(2**63), OverflowError),
    (lambda w: w.advance(None), TypeError),
    (lambda w: w.advance(1, limit=-1), ValueError),
    (lambda w: w.advance(1, limit=1.0), TypeError),
])
def test_bad_arguments_raise_clear_errors(wheel, call, error):
    w = wheel.Wheel()
    w.schedule(1, 1)
    with pytest.raises(error, match=r"deadline_ns|data|handle|now_ns|limit"):
        call(w)
    assert len(w) == 1
    assert w.advance(1) == [1]


@pytest.mark.parametrize("kwargs, error", [
    ({"tick_ns": 0}, ValueError),
    ({"tick_ns": -1}, ValueError),
    ({"tick_ns": 2**63}, OverflowError),
    ({"tick_ns": 1.0}, TypeError),
    ({"capacity": -1}, ValueError),
    ({"capacity": 2**40}, ValueError),
    ({"capacity": "8"}, TypeError),
])
def test_bad_construction_raises_clear_errors(wheel, kwargs, error):
    with pytest.raises(error, match=r"tick_ns|capacity"):
        wheel.Wheel(**kwargs)


def test_integer_like_arguments_are_accepted(wheel):
    class Index:
        def __init__(self, value):
            self.value = value

        def __index__(self):
            return self.value

    w = wheel.Wheel(tick_ns=Index(1000), capacity=Index(4))
    h = w.schedule(Index(5000), Index(7))
    assert w.reschedule(h, Index(6000))
    assert w.advance(Index(6000), limit=Index(3)) == [7]
    assert w.tick_ns == 1000
