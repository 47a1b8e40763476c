"""Timing helpers shared by the micro-benchmark scenarios.

Every figure is the median over `rounds` rounds of the time per operation in
nanoseconds, each round timing `number` operations with perf_counter_ns.
"""

import statistics
import time


def per_op_ns(fn, number, rounds=7, warmup=1):
    """Median ns per call of fn(number) over rounds; fn runs `number` ops."""
    for _ in range(warmup):
        fn(number)
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn(number)
        samples.append((time.perf_counter_ns() - t0) / number)
    return statistics.median(samples)
