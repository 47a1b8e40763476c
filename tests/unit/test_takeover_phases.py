"""Issue 6 takeover: many instances of one advert interval start spread over it
(fastpath_driver.startup_phases), so a master's adverts and a backup's
Master_Down_Timers are not all in one wheel tick."""

import pytest

from fastvrrp.daemon.fastpath_driver import SPREAD_MIN_INSTANCES, startup_phases

MS = 1_000_000


def test_a_thousand_instances_spread_evenly_over_one_interval():
    phases = startup_phases([100 * MS] * 1000)
    assert phases[0] == 0
    assert phases == sorted(phases) and len(set(phases)) == 1000
    assert max(phases) < 100 * MS
    gaps = {b - a for a, b in zip(phases, phases[1:])}
    assert gaps == {100 * MS // 1000}


def test_each_interval_is_spread_over_itself():
    intervals = [10 * MS, 100 * MS] * 50          # interleaved: 50 of each
    phases = startup_phases(intervals)
    fast = [p for i, p in zip(intervals, phases) if i == 10 * MS]
    slow = [p for i, p in zip(intervals, phases) if i == 100 * MS]
    assert fast == [k * 10 * MS // 50 for k in range(50)]
    assert slow == [k * 100 * MS // 50 for k in range(50)]


def test_few_instances_start_together_as_in_keepalived():
    n = SPREAD_MIN_INSTANCES - 1
    assert startup_phases([1000 * MS] * n) == [0] * n
    mixed = [1000 * MS] * 3 + [10 * MS] * SPREAD_MIN_INSTANCES
    phases = startup_phases(mixed)
    assert phases[:3] == [0, 0, 0]
    assert phases[3:] == [k * 10 * MS // SPREAD_MIN_INSTANCES
                          for k in range(SPREAD_MIN_INSTANCES)]


def test_minimum_can_be_lowered():
    assert startup_phases([100, 100], minimum=1) == [0, 50]
    assert startup_phases([]) == []


@pytest.mark.parametrize("bad", [0, -5, 1.5, None, True])
def test_a_bad_interval_is_refused(bad):
    with pytest.raises(ValueError, match="advert interval"):
        startup_phases([100, bad])


@pytest.mark.parametrize("bad", [0, -1, 2.0, False])
def test_a_bad_minimum_is_refused(bad):
    with pytest.raises(ValueError, match="minimum"):
        startup_phases([100], minimum=bad)


def test_a_late_startup_keeps_its_planned_time_within_one_interval():
    from fastvrrp.daemon.fastpath_driver import startup_time
    assert startup_time(1000 * MS, 1000 * MS, 100 * MS) == 1000 * MS       # on time
    assert startup_time(1000 * MS, 1099 * MS, 100 * MS) == 1000 * MS       # late: planned
    assert startup_time(1000 * MS, 1100 * MS, 100 * MS) == 1100 * MS       # too late: now
    assert startup_time(1000 * MS, 999 * MS, 100 * MS) == 1000 * MS        # callback early
    with pytest.raises(ValueError, match="interval_ns"):
        startup_time(1, 2, -1)
    with pytest.raises(ValueError, match="at_ns"):
        startup_time(None, 2, 3)
