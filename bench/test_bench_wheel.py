"""pytest-benchmark suites for the timer wheel (`make bench`).

Each benchmarked call runs a batch of operations; extra_info["ns_per_op"] is
the median call time divided by the operations in it.  Groups:

* wheel-reschedule / wheel-schedule-cancel: through the Python API, both
  twins, 1k / 100k / 1M pending timers, random timer + random deadline
  within 4 s (drawn afresh before each timed round);
* wheel-c-reschedule / wheel-c-schedule-cancel: the compiled wheel's C API in
  a C loop (fastvrrp._wheel._BenchWheel), no Python call per operation;
* wheel-expire: advancing 1 ms at a time through N timers at random
  deadlines within 1 s until all expired (ns per expired timer); the Python
  API for both twins and the C API (fixed 64k buffer) for the compiled one.
"""

import random

import pytest

from fastvrrp import _wheel as compiled
from fastvrrp.reference import wheel as reference

MS = 1_000_000
SIZES = [1_000, 100_000, 1_000_000]
TWINS = [pytest.param(compiled, id="compiled"), pytest.param(reference, id="reference")]
PY_OPS = 1_000              # operations per benchmarked call through Python
C_OPS = 100_000             # operations per benchmarked call of a C loop
RESCHEDULE_HORIZON = 4_000 * MS
EXPIRE_HORIZON = 1_000 * MS

_filled_cache = {}


def filled(twin, size):
    """A wheel of `size` timers at random deadlines, shared by the Python-API
    benchmarks (they leave it with `size` timers)."""
    key = (twin.__name__, size)
    if key not in _filled_cache:
        _filled_cache.clear()           # keep one big wheel alive at a time
        rnd = random.Random(size)
        wheel = twin.Wheel(capacity=size)
        handles = [wheel.schedule(rnd.randrange(1, RESCHEDULE_HORIZON), i) for i in range(size)]
        _filled_cache[key] = wheel, handles
    return _filled_cache[key]


def record(benchmark, ops):
    benchmark.extra_info["ops_per_call"] = ops
    benchmark.extra_info["ns_per_op"] = benchmark.stats.stats.median * 1e9 / ops


@pytest.mark.benchmark(group="wheel-reschedule")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("twin", TWINS)
def test_reschedule(benchmark, twin, size):
    wheel, handles = filled(twin, size)
    rnd = random.Random(1)
    reschedule = wheel.reschedule

    def draw():     # fresh random timers every round: no warmed-up subset
        pairs = [(rnd.choice(handles) + 0, rnd.randrange(1, RESCHEDULE_HORIZON))
                 for _ in range(PY_OPS)]
        return (pairs,), {}

    def run(pairs):
        for handle, deadline in pairs:
            reschedule(handle, deadline)

    benchmark.pedantic(run, setup=draw, rounds=30, warmup_rounds=2)
    record(benchmark, PY_OPS)
    assert len(wheel) == size


@pytest.mark.benchmark(group="wheel-schedule-cancel")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("twin", TWINS)
def test_schedule_cancel(benchmark, twin, size):
    wheel, _ = filled(twin, size)
    rnd = random.Random(2)
    deadlines = [rnd.randrange(1, RESCHEDULE_HORIZON) for _ in range(PY_OPS)]
    schedule, cancel = wheel.schedule, wheel.cancel

    def run():
        for deadline in deadlines:
            cancel(schedule(deadline, 0))

    benchmark.pedantic(run, rounds=30, warmup_rounds=2)
    record(benchmark, PY_OPS)
    assert len(wheel) == size


@pytest.mark.benchmark(group="wheel-c-reschedule")
@pytest.mark.parametrize("size", SIZES)
def test_c_reschedule(benchmark, size):
    bench = compiled._BenchWheel(size, RESCHEDULE_HORIZON, MS)

    def draw():     # fresh random timers every round: no warmed-up subset
        bench.draw(C_OPS, RESCHEDULE_HORIZON)
        return (), {}

    benchmark.pedantic(bench.run_reschedule, setup=draw, rounds=20, warmup_rounds=1)
    record(benchmark, C_OPS)


@pytest.mark.benchmark(group="wheel-c-schedule-cancel")
@pytest.mark.parametrize("size", SIZES)
def test_c_schedule_cancel(benchmark, size):
    bench = compiled._BenchWheel(size, RESCHEDULE_HORIZON, MS)
    bench.draw(C_OPS, RESCHEDULE_HORIZON)
    benchmark.pedantic(bench.run_schedule_cancel, rounds=20, warmup_rounds=1)
    record(benchmark, C_OPS)


def _expire_rounds(size):
    return 3 if size >= 1_000_000 else 10


@pytest.mark.benchmark(group="wheel-expire")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("twin", TWINS)
def test_advance_expire(benchmark, twin, size):
    expired = []

    def setup():
        rnd = random.Random(size)
        wheel = twin.Wheel(capacity=size)
        for i in range(size):
            wheel.schedule(rnd.randrange(1, EXPIRE_HORIZON), i)
        return (wheel,), {}

    def run(wheel):
        advance, count = wheel.advance, 0
        for now in range(MS, EXPIRE_HORIZON + MS, MS):
            count += len(advance(now))
        expired.append(count)

    benchmark.pedantic(run, setup=setup, rounds=_expire_rounds(size))
    record(benchmark, size)
    assert set(expired) == {size}


@pytest.mark.benchmark(group="wheel-expire")
@pytest.mark.parametrize("size", SIZES)
def test_c_advance_expire(benchmark, size):
    expired = []

    def setup():
        return (compiled._BenchWheel(size, EXPIRE_HORIZON, MS),), {}

    def run(bench):
        expired.append(bench.expire_all(MS)[1])

    benchmark.pedantic(run, setup=setup, rounds=_expire_rounds(size))
    record(benchmark, size)
    assert set(expired) == {size}
