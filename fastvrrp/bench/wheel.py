"""`fastvrrp bench wheel`: what a timer operation costs.

Figures are ns per operation, medians over --rounds rounds:

* reschedule_ns         compiled, C-level loop (fastvrrp._wheel._BenchWheel):
                        a random one of --timers pending timers moved to a
                        random deadline within 4 s (the operations are drawn
                        before the clock starts), no Python call per op;
* reschedule_1k_ns      the same with 1,000 timers (a daemon's working set);
* reschedule_rearm_ns   the daemon's hot loop in C: 1,000 Backups re-arming
                        Master_Down_Timer on every 1-cs advert (RFC 5798
                        §6.4.2), one advance per tick included;
* reschedule_py_ns      compiled, through the Python API (`for h, d in ops:
                        w.reschedule(h, d)`, loop included), --timers pending;
* reference_reschedule_ns  the pure-Python twin, the same Python loop;
* reschedule_speedup    reference_reschedule_ns / reschedule_ns (C loop);
  reschedule_py_speedup reference_reschedule_ns / reschedule_py_ns (both
                        through the Python API: the compiled gain alone);
* schedule_cancel_ns    compiled C loop: one schedule + one cancel;
* expire_ns             compiled C loop, per expired timer: --timers timers at
                        random deadlines within 1 s, advanced 1 ms at a time;
  expire_py_ns          the same through Wheel.advance (list of payloads);
* asyncio_call_later_ns the event loop's own `call_later` + `cancel()` pair
                        on a running loop (uvloop when installed, named in
                        asyncio_loop);
* bytes_per_timer       what the compiled wheel allocates for --timers timers
                        (nodes + list chunks + struct) / timers; the sort
                        scratch is transient and reported apart.
"""

import argparse
import asyncio
import random
import statistics

from .timing import per_op_ns

NAME = "wheel"
HELP = "timer wheel: reschedule, schedule+cancel, expiry; compiled vs reference vs call_later"

TICK_NS = 1_000_000
RESCHEDULE_HORIZON_NS = 4_000_000_000
EXPIRE_HORIZON_NS = 1_000_000_000
DAEMON_TIMERS = 1_000
TARGETS = {"reschedule_ns": 60, "reschedule_speedup": 20, "expire_ns": 100}


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1, got %s" % text)
    return value


def add_arguments(parser):
    parser.add_argument("--timers", type=_positive, default=1_000_000, metavar="N",
                        help="pending timers (default 1,000,000)")
    parser.add_argument("--ops", type=_positive, default=1_000_000, metavar="N",
                        help="operations per round in the C-level loops (default 1,000,000)")
    parser.add_argument("--py-ops", type=_positive, default=100_000, metavar="N",
                        help="operations per round through a Python API (default 100,000)")
    parser.add_argument("--rounds", type=_positive, default=5, metavar="N",
                        help="rounds per figure; the median is reported (default 5)")


def _median(fn, rounds):
    return statistics.median(fn() for _ in range(rounds))


def _c_loop(compiled, run, timers, ops, rounds):
    bench = compiled._BenchWheel(timers, RESCHEDULE_HORIZON_NS, TICK_NS)

    def one_round():
        bench.draw(ops, RESCHEDULE_HORIZON_NS)
        return getattr(bench, run)() / ops
    return _median(one_round, rounds)


def _c_expire(compiled, timers, rounds):
    return _median(lambda: compiled._bench_expire(timers, EXPIRE_HORIZON_NS, TICK_NS), rounds)


def _filled(module, timers, horizon_ns, seed=1):
    rnd = random.Random(seed)
    wheel = module.Wheel(tick_ns=TICK_NS, capacity=timers)
    schedule = wheel.schedule
    handles = [schedule(rnd.randrange(1, horizon_ns + 1), i) for i in range(timers)]
    return wheel, handles, rnd


def _py_reschedule(module, timers, ops, rounds):
    wheel, handles, rnd = _filled(module, timers, RESCHEDULE_HORIZON_NS)
    # Fresh int objects laid out together, as a receive loop would produce
    # them: the measurement is the call, not Python's heap layout.
    pairs = [(handles[rnd.randrange(timers)] + 0, rnd.randrange(1, RESCHEDULE_HORIZON_NS + 1))
             for _ in range(ops)]
    reschedule = wheel.reschedule

    def loop(number):
        for handle, deadline in pairs:
            reschedule(handle, deadline)

    return per_op_ns(loop, len(pairs), rounds=rounds)


def _py_expire(module, timers, rounds):
    def one_round():
        wheel, _, _ = _filled(module, timers, EXPIRE_HORIZON_NS)
        advance = wheel.advance
        expired = 0
        t0 = _now()
        for now in range(TICK_NS, EXPIRE_HORIZON_NS + TICK_NS, TICK_NS):
            expired += len(advance(now))
        elapsed = _now() - t0
        if expired != timers:
            raise RuntimeError("expired %d of %d timers" % (expired, timers))
        return elapsed / timers
    return _median(one_round, rounds)


def _now():
    import time
    return time.perf_counter_ns()


def _call_later(ops, rounds):
    """call_later + cancel pairs on a running loop that iterates every 1,000
    pairs, as a daemon's would: a cancelled uv timer is closed (and its
    handle freed) on the next iteration, which belongs to the pair's cost."""
    try:
        import uvloop
        loop, name = uvloop.new_event_loop(), "uvloop"
    except ImportError:                     # pragma: no cover - uvloop is a dependency
        loop, name = asyncio.new_event_loop(), "asyncio"

    def callback():
        pass

    async def pairs(number):
        call_later = loop.call_later
        for i in range(number):
            call_later(3.6, callback).cancel()
            if i % 1000 == 999:
                await asyncio.sleep(0)

    try:
        return per_op_ns(lambda number: loop.run_until_complete(pairs(number)),
                         ops, rounds=rounds), name
    finally:
        loop.close()


def _bytes_per_timer(compiled, timers):
    wheel, _, _ = _filled(compiled, timers, RESCHEDULE_HORIZON_NS)
    parts = compiled._memory_bytes(wheel)
    return (parts["nodes"] + parts["chunks"] + parts["fixed"]) / timers


def run(args, progress):
    from fastvrrp import _wheel as compiled
    from fastvrrp.reference import wheel as reference

    n, rounds = args.timers, args.rounds
    result = {"scenario": NAME, "timers": n, "tick_ns": TICK_NS, "rounds": rounds}
    progress("compiled reschedule, C loop, %d and %d timers" % (n, DAEMON_TIMERS))
    result["reschedule_ns"] = _c_loop(compiled, "run_reschedule", n, args.ops, rounds)
    result["reschedule_1k_ns"] = _c_loop(compiled, "run_reschedule", DAEMON_TIMERS,
                                         args.ops, rounds)
    result["reschedule_rearm_ns"] = _median(
        lambda: compiled._bench_rearm(DAEMON_TIMERS, args.ops, 10 * TICK_NS, TICK_NS), rounds)
    progress("compiled schedule+cancel and expiry, C loop")
    result["schedule_cancel_ns"] = _c_loop(compiled, "run_schedule_cancel", n, args.ops, rounds)
    result["expire_ns"] = _c_expire(compiled, n, rounds)
    progress("compiled through the Python API")
    result["reschedule_py_ns"] = _py_reschedule(compiled, n, args.py_ops, rounds)
    result["expire_py_ns"] = _py_expire(compiled, n, min(rounds, 3))
    progress("reference twin through the Python API (%d timers)" % n)
    result["reference_reschedule_ns"] = _py_reschedule(reference, n, args.py_ops, rounds)
    result["reschedule_speedup"] = result["reference_reschedule_ns"] / result["reschedule_ns"]
    result["reschedule_py_speedup"] = (result["reference_reschedule_ns"]
                                       / result["reschedule_py_ns"])
    progress("the event loop's call_later + cancel")
    result["asyncio_call_later_ns"], result["asyncio_loop"] = _call_later(args.py_ops, rounds)
    result["bytes_per_timer"] = _bytes_per_timer(compiled, n)
    result["node_bytes"] = compiled.NODE_BYTES
    result["sort_scratch_bytes_per_timer"] = 2 * compiled.SORT_ITEM_BYTES
    result["targets_met"] = {
        "reschedule_ns<=60": result["reschedule_ns"] <= TARGETS["reschedule_ns"],
        "reschedule_speedup>=20": result["reschedule_speedup"] >= TARGETS["reschedule_speedup"],
        "expire_ns<=100": result["expire_ns"] <= TARGETS["expire_ns"],
    }
    return result
